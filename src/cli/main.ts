#!/usr/bin/env node
// The `papr` command line. Node-only: file I/O lives here, the computation in src/.
//
//   papr classify <image...> [--weights DIR] [--proposer DIR] [--z 0.5] ...   (classify.ts)
//   papr classify-video <clip> --weights DIR --proposer DIR [--z 0.4] ...      (classify_video.ts)
//   papr convert <checkpoint> --arch NAME --out DIR [--force] ...              (convert.ts)
//   papr eval-folder DIR --weights DIR [--classes FILE] [--limit N] ...        (eval_folder.ts)
//   papr gallery [--proposer DIR] [--images DIR...] ...                        (gallery.ts)
//   papr quantize <model dir> --bits w4a8 --calibration DIR --out DIR ...     (quantize.ts)
//   papr prune <model dir> --method dimap --flops 0.5 --out DIR [--force]      (prune.ts)
//   papr archs
// The full usage is in usage.ts. Every failure is one line on stderr naming the file and the field.
import { printable } from "../image/image.ts";
import { PRESETS } from "../models/registry.ts";
import { stopThreads } from "../tensor/backend.ts";
import { classify } from "./classify.ts";
import { classifyVideo } from "./classify_video.ts";
import { convert } from "./convert.ts";
import { evalFolder } from "./eval_folder.ts";
import { UserError } from "./files.ts";
import { gallery } from "./gallery.ts";
import { prune } from "./prune.ts";
import { quantize } from "./quantize.ts";
import { USAGE } from "./usage.ts";

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case "classify":
      return classify(rest);
    case "classify-video":
      return classifyVideo(rest);
    case "convert":
      return convert(rest);
    case "eval-folder":
      return evalFolder(rest);
    case "gallery":
      return gallery(rest);
    case "quantize":
      return quantize(rest);
    case "prune":
      return prune(rest);
    case "archs":
      return console.log(
        Object.entries(PRESETS)
          .map(([name, p]) => `${name.padEnd(34)} ${p.family}`)
          .join("\n"),
      );
    case undefined:
    case "help":
    case "--help":
    case "-h":
      return console.log(USAGE);
    default:
      throw new UserError(`unknown command '${command}'\n${USAGE}`);
  }
}

/** An error as the terminal shows it: control characters escaped on every line (paths and library messages included). */
export function errorText(error: Error, debug: boolean): string {
  return (debug && error.stack ? error.stack : error.message).split("\n").map(printable).join("\n");
}

// Output piped into a reader that stops early (`papr classify ... | head`): stop quietly, as Unix tools do.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  stopThreads();
  process.exit(0);
});

try {
  await main(process.argv.slice(2));
} catch (e) {
  // Every failure is reported as one line naming the problem; PAPR_DEBUG=1 adds the stack.
  const error: Error & { code?: string } = e instanceof Error ? e : new Error(String(e));
  const usage = error instanceof UserError && /usage:/.test(error.message);
  const badFlag = typeof error.code === "string" && error.code.startsWith("ERR_PARSE_ARGS");
  console.error(`papr: ${errorText(error, Boolean(process.env.PAPR_DEBUG))}${badFlag ? `\n${USAGE}` : ""}`);
  process.exitCode = usage || badFlag ? 2 : 1;
} finally {
  stopThreads();
}
