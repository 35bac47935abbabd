// Types of scripts/build-web.mjs (for the tests that import it).
export declare const ROOT: string;
export declare const DEMO_PATH: string;
export interface BuildWebOptions {
  entry?: string; // default src/index.ts
  name?: string; // output name, default "papr"
  outdir?: string; // default dist/
  minify?: boolean;
  quiet?: boolean; // print nothing; a failed build still throws with every message
}
/** Builds the browser bundle; resolves to the absolute paths of the written .js files. */
export declare function buildWeb(options?: BuildWebOptions): Promise<string[]>;
export interface StaticServer {
  url: string; // the demo page's URL
  port: number;
  close(): Promise<void>;
}
/** mounts: URL prefix (e.g. "/shared-weights/") -> folder served under it. */
export declare function serveStatic(
  root?: string,
  options?: { port?: number; host?: string; log?: boolean; mounts?: Record<string, string> },
): Promise<StaticServer>;
/** URL prefix under which `npm run web` serves ../shared/weights when present. */
export declare const SHARED_WEIGHTS_URL: string;
/** The TFLite MobileNetV2's path under SHARED_WEIGHTS_URL. */
export declare const SHARED_TFLITE: string;
/** { [SHARED_WEIGHTS_URL]: absolute ../shared/weights } when that folder exists, else {}. */
export declare function sharedMounts(): Record<string, string>;
