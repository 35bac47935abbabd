// Node adapter: reads a backbone folder's adaptive-pruning thresholds (adaptive-thresholds.json, written by
// tools/train/train_thresholds.py) for src/papr/adaptive_pruning.ts.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { readRegularFile } from "../models/load/node.ts";
import {
  ADAPTIVE_THRESHOLDS_FILE,
  parseAdaptiveThresholds,
  type AdaptiveThresholds,
} from "../papr/adaptive_pruning.ts";
import { UserError } from "./files.ts";

/** A thresholds file is a few hundred bytes; more is not one. */
const MAX_THRESHOLDS_BYTES = 1024 * 1024;

/** The thresholds beside the backbone in `dir` (a UserError naming the file when absent or malformed). */
export function loadAdaptiveThresholds(dir: string): AdaptiveThresholds {
  const path = join(dir, ADAPTIVE_THRESHOLDS_FILE);
  if (!existsSync(path))
    throw new UserError(
      `${path}: no adaptive-pruning thresholds beside this backbone (fit them with tools/train/train_thresholds.py)`,
    );
  try {
    const bytes = readRegularFile(path, "adaptive thresholds", MAX_THRESHOLDS_BYTES);
    return parseAdaptiveThresholds(new TextDecoder("utf-8", { fatal: true }).decode(bytes), path);
  } catch (e) {
    throw new UserError((e as Error).message);
  }
}
