// `npm run bench -- --browser`: the papr-ts timings of bench.ts inside headless Chromium, on the bench
// page (bench/browser/) served the way `npm run web` serves the demo (cross-origin isolated, so the
// engine's worker threads run), the timings in a Web Worker that owns the pool (bench/browser/worker.js).
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildWeb, serveStatic } from "../scripts/build-web.mjs";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
export const CHROMIUM = process.env.PAPR_CHROMIUM ?? "/usr/bin/chromium";

export interface BrowserEngine {
  name: string; // "wasm 2T"
  backend: "js" | "wasm";
  threads: number;
}

export interface BrowserResults {
  userAgent: string;
  cores: number;
  crossOriginIsolated: boolean;
  forward: { size: string; z: number; engine: string; ms: number; proposerMs: number; blocksMs: number }[];
  gemm: { engine: string; ms: number; gflops: number }[];
}

/** Runs the bench page in headless Chromium; resolves to its medians. */
export async function browserBench(options: {
  sizes: string[];
  proposer: string;
  zs: number[];
  engines: BrowserEngine[];
  rounds: number;
}): Promise<BrowserResults> {
  if (!existsSync(CHROMIUM)) throw new Error(`--browser: ${CHROMIUM} absent (set PAPR_CHROMIUM to a Chromium)`);
  const { chromium } = await import("playwright-core");
  await buildWeb({ quiet: true });
  const server = await serveStatic(ROOT, { port: 0 });
  const profile = mkdtempSync(join(tmpdir(), "papr-bench-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on("console", (m) => console.log(`  [browser] ${m.text()}`));
    await page.goto(server.url.replace("/examples/web/", "/bench/browser/"));
    await page.waitForFunction(() => typeof (window as unknown as { runBench?: unknown }).runBench === "function");
    const poll = setInterval(async () => {
      const text = await page.textContent("#log").catch(() => null);
      const last = text?.trim().split("\n").pop();
      if (last) console.log(`  ${last}`);
    }, 30_000);
    try {
      return (await page.evaluate(
        (o) => (window as unknown as { runBench(o: unknown): Promise<unknown> }).runBench(o),
        options,
      )) as BrowserResults;
    } finally {
      clearInterval(poll);
    }
  } finally {
    await context.close();
    await server.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
