#!/usr/bin/env node
// The browser build of papr-ts and the local server of the demo page (examples/web).
//
//   node scripts/build-web.mjs                 # src/index.ts -> dist/papr.js (ESM, no Node built-ins)
//   node scripts/build-web.mjs --serve [--port 8080] [--host 127.0.0.1]
//                                              # build, then serve the repository and print the demo URL
//
// esbuild bundles for platform=browser, so a Node built-in (node:fs, ...) reached from src/index.ts fails
// the build with esbuild's "Could not resolve" error. Node-only adapters (files named *_node.ts or
// node.ts, docs/ARCHITECTURE.md) may be reached only through a dynamic import that the browser never
// takes (src/tensor/workers/thread_pool.ts picks its platform at run time); those become a stub that throws.
// A static import of an adapter is a build error. A module Web Worker started as
// `new URL("./x.ts", import.meta.url)` is bundled as its own entry, dist/x.js, and the URL rewritten.
import * as esbuild from "esbuild";
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { existsSync } from "node:fs";
import { extname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../", import.meta.url));
export const DEMO_PATH = "/examples/web/";

const NODE_ADAPTER = /(^|[/\\])([^/\\]*_node|node)\.ts$/;
const WORKER_URL = /new URL\(\s*(["'])\.\/([\w.-]+)\.ts\1\s*,\s*import\.meta\.url\s*\)/g;

/** Keeps Node-only adapters out of the bundle (see the header). */
function nodeAdapters() {
  return {
    name: "papr-node-adapters",
    setup(build) {
      build.onResolve({ filter: NODE_ADAPTER }, (args) => {
        const where = relative(ROOT, args.importer);
        if (args.kind !== "dynamic-import") {
          return {
            errors: [
              {
                text: `${where} imports the Node-only adapter '${args.path}': the browser bundle may reach Node adapters only through a dynamic import`,
              },
            ],
          };
        }
        return { path: args.path, namespace: "node-adapter", pluginData: where };
      });
      build.onLoad({ filter: /.*/, namespace: "node-adapter" }, (args) => ({
        contents: `throw new Error(${JSON.stringify(`${args.path} (imported by ${args.pluginData}) is a Node-only adapter, not part of the browser bundle`)});`,
        loader: "js",
      }));
    },
  };
}

/** Rewrites `new URL("./x.ts", import.meta.url)` to "./x.js" and records x.ts as a further entry point. */
function workerEntries(found) {
  return {
    name: "papr-worker-entries",
    setup(build) {
      build.onLoad({ filter: /[/\\]src[/\\].*\.ts$/ }, async (args) => {
        const source = await readFile(args.path, "utf8");
        if (!WORKER_URL.test(source)) return undefined;
        WORKER_URL.lastIndex = 0;
        const contents = source.replace(WORKER_URL, (_, quote, name) => {
          found.add(resolve(args.path, "..", `${name}.ts`));
          return `new URL(${quote}./${name}.js${quote}, import.meta.url)`;
        });
        return { contents, loader: "ts" };
      });
    },
  };
}

/**
 * Builds dist/papr.js (from src/index.ts; `entry`/`name` build another module) and one dist/<worker>.js per
 * module worker the library starts.
 * Returns the written files. Throws (after esbuild prints the errors) when the bundle cannot be built.
 */
export async function buildWeb({
  entry = join(ROOT, "src/index.ts"),
  name = "papr",
  outdir = join(ROOT, "dist"),
  minify = false,
  quiet = false,
} = {}) {
  const common = {
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    sourcemap: true,
    minify,
    logLevel: quiet ? "silent" : "warning", // silent: the thrown error still lists every message
    metafile: true,
    absWorkingDir: ROOT,
  };
  const workers = new Set();
  const written = [];
  const main = await esbuild.build({
    ...common,
    entryPoints: { [name]: entry },
    outdir,
    plugins: [nodeAdapters(), workerEntries(workers)],
  });
  written.push(...Object.keys(main.metafile.outputs));
  const built = new Set();
  while (workers.size > built.size) {
    const todo = [...workers].filter((w) => !built.has(w));
    const result = await esbuild.build({
      ...common,
      entryPoints: todo,
      outdir,
      plugins: [nodeAdapters(), workerEntries(workers)],
    });
    todo.forEach((w) => built.add(w));
    written.push(...Object.keys(result.metafile.outputs));
  }
  return written.filter((f) => f.endsWith(".js")).map((f) => resolve(ROOT, f));
}

// ---- the demo server -----------------------------------------------------------------------

const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".bmp": "image/bmp",
  ".svg": "image/svg+xml",
};

/**
 * Serves `root` read-only over HTTP on host:port (port 0: any free port). Cross-origin isolated
 * (COOP/COEP), so the page may use SharedArrayBuffer (the worker pool's threads).
 * Resolves to { url, port, close() } once listening.
 */
// mounts: { "/shared-weights/": "/abs/dir" } serves a folder under a URL prefix (read-only, nothing outside it)
export function serveStatic(root = ROOT, { port = 8080, host = "127.0.0.1", log = false, mounts = {} } = {}) {
  const server = createServer(async (request, response) => {
    const headers = {
      "Cross-Origin-Opener-Policy": "same-origin",
      "Cross-Origin-Embedder-Policy": "require-corp",
      "Cache-Control": "no-cache",
    };
    const send = (status, body, type = "text/plain; charset=utf-8") => {
      response.writeHead(status, { ...headers, "Content-Type": type });
      response.end(body);
    };
    try {
      const path = decodeURIComponent(new URL(request.url ?? "/", "http://localhost").pathname);
      if (path === "/") {
        response.writeHead(302, { ...headers, Location: DEMO_PATH });
        return response.end();
      }
      if (path.split("/").some((part) => part.startsWith("."))) return send(404, `not found: ${path}\n`); // .git, .env, ...
      const mount = Object.keys(mounts).find((prefix) => path.startsWith(prefix));
      const base = resolve(mount ? mounts[mount] : root);
      let file = resolve(base, "." + (mount ? path.slice(mount.length - 1) : path));
      if (file !== base && !file.startsWith(base + sep)) return send(403, "forbidden\n");
      if ((await stat(file).catch(() => null))?.isDirectory()) file = join(file, "index.html");
      const body = await readFile(file).catch(() => null);
      if (log) console.log(`${request.method} ${path} ${body ? 200 : 404}`);
      if (body === null) return send(404, `not found: ${path}\n`);
      send(200, body, MIME[extname(file).toLowerCase()] ?? "application/octet-stream");
    } catch (e) {
      send(400, `bad request: ${e.message}\n`);
    }
  });
  return new Promise((resolvePromise, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const actual = server.address().port;
      resolvePromise({
        url: `http://${host}:${actual}${DEMO_PATH}`,
        port: actual,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

// ../shared/weights (real ImageNet ConvNets, never copied into the repository), when present beside the checkout
export const SHARED_WEIGHTS_URL = "/shared-weights/";
export const SHARED_TFLITE = "mobilenet_v2_1.0_224_quant_tflite/mobilenet_v2_1.0_224_quant.tflite";
export function sharedMounts() {
  const dir = resolve(ROOT, "../shared/weights");
  return existsSync(dir) ? { [SHARED_WEIGHTS_URL]: dir } : {};
}

async function main(argv) {
  const flag = (name, fallback) => {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
  };
  const files = await buildWeb({ minify: argv.includes("--minify") });
  for (const f of files) console.log(`built ${relative(ROOT, f)} (${((await stat(f)).size / 1024).toFixed(0)} KiB)`);
  if (!argv.includes("--serve")) return;
  const host = flag("--host", "127.0.0.1");
  let port = Number(flag("--port", process.env.PORT ?? "8080"));
  for (let attempt = 0; ; attempt++) {
    try {
      const { url } = await serveStatic(ROOT, { port, host, log: argv.includes("--log"), mounts: sharedMounts() });
      console.log(`papr web demo: ${url}   (Ctrl-C stops)`);
      console.log(`  other weights: ${url}?backbone=/path/to/vit-dir/&proposer=/path/to/convnet-dir/ (same origin)`);
      if (sharedMounts()[SHARED_WEIGHTS_URL])
        console.log(`  TFLite proposer from ../shared: ${url}?proposer=${SHARED_WEIGHTS_URL}${SHARED_TFLITE}`);
      return;
    } catch (e) {
      if (e.code !== "EADDRINUSE" || attempt === 9) throw e;
      port++;
    }
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e) => {
    if (!e.errors) console.error(`build-web: ${e.message}`); // esbuild has printed its own errors
    process.exitCode = 1;
  });
}
