// TFLite's own interpreter (tfjs-tflite's WebAssembly build, in headless Chromium) on the crops of
// tools/golden/tflite_int_ref.py, compared with that reference's uint8 logits (logits.jsonl).
//
//   npm install --prefix tools/tflite_web        (npm registry; not a dependency of papr-ts)
//   node --import tsx tools/tflite_web/compare.ts MODEL.tflite REFERENCE_DIR
//
// The graph's output is moved to the final SOFTMAX's input (one int32 of the file patched in
// memory), so the interpreter returns the logits. Served from 127.0.0.1 only.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Flatbuffer } from "../../src/models/load/flatbuffer.ts";
import { readTflite } from "../../src/models/load/tflite.ts";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const [modelPath, refDir] = process.argv.slice(2);
if (!modelPath || !refDir) throw new Error("usage: compare.ts MODEL.tflite REFERENCE_DIR");
if (!existsSync(join(HERE, "node_modules"))) throw new Error("run 'npm install --prefix tools/tflite_web' first");

// the model with its output moved to the logits
const bytes = new Uint8Array(readFileSync(modelPath));
const parsed = readTflite(bytes, modelPath);
const softmax = parsed.operators.find((op) => op.opcode === "SOFTMAX");
if (!softmax || parsed.outputs.length !== 1) throw new Error("expected one output made by a SOFTMAX");
let logitsTensor = softmax.inputs[0];
const reshape = parsed.operators.find((op) => op.outputs[0] === logitsTensor && op.opcode === "RESHAPE");
if (reshape) logitsTensor = reshape.inputs[0]; // the last tensor some kernel computes
const fb = new Flatbuffer(bytes, modelPath);
const graphs = fb.root("Model").vector(2, "subgraphs", 4)!;
const outputs = fb.tableAt("SubGraph", fb.follow("SubGraph", graphs.start)).vector(2, "outputs", 4)!;
new DataView(bytes.buffer, bytes.byteOffset).setInt32(outputs.start, logitsTensor, true);

const reference = new Map<string, number[]>();
for (const line of readFileSync(join(refDir, "logits.jsonl"), "utf8").split("\n"))
  if (line.trim()) {
    const { crop, logits } = JSON.parse(line);
    reference.set(crop, logits);
  }

const TYPES: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };
const server = createServer((req, res) => {
  const url = decodeURIComponent((req.url ?? "/").split("?")[0]);
  if (req.method === "POST" && url === "/result") {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      res.end("ok");
      finish(JSON.parse(body));
    });
    return;
  }
  let file: string | Uint8Array | null = null;
  if (url === "/" || url === "/index.html") file = join(HERE, "index.html");
  else if (url === "/model.tflite") file = bytes;
  else if (url === "/crops.json") file = new TextEncoder().encode(JSON.stringify([...reference.keys()]));
  else if (url.startsWith("/crops/") && reference.has(url.slice(7))) file = join(refDir, url.slice(7));
  else if (url.startsWith("/wasm/") && !url.includes(".."))
    file = join(HERE, "node_modules/@tensorflow/tfjs-tflite/wasm", url.slice(6));
  else if (url.startsWith("/node_modules/") && !url.includes("..")) file = join(HERE, url);
  if (file === null || (typeof file === "string" && !existsSync(file))) {
    res.statusCode = 404;
    res.end();
    return;
  }
  if (typeof file === "string") res.setHeader("Content-Type", TYPES[extname(file)] ?? "application/octet-stream");
  res.end(typeof file === "string" ? readFileSync(file) : file);
});

let browser: ReturnType<typeof spawn> | null = null;
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as { port: number };
  browser = spawn(
    "chromium",
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      `--user-data-dir=${join(HERE, ".chrome")}`,
      `http://127.0.0.1:${port}/`,
    ],
    { stdio: "ignore" },
  );
});

function finish(result: { outputs: Record<string, number[]>; nodes: string[]; error?: string }): void {
  browser?.kill();
  server.close();
  if (result.error) throw new Error(`interpreter: ${result.error}`);
  const argmax = (v: number[]) => v.reduce((b, x, i) => (x > v[b] ? i : b), 0);
  const histogram = new Map<number, number>();
  let identical = 0;
  let sameTop1 = 0;
  for (const [crop, logits] of Object.entries(result.outputs)) {
    const expected = reference.get(crop)!;
    let differ = 0;
    expected.forEach((e, i) => {
      const d = Math.abs(logits[i] - e);
      histogram.set(d, (histogram.get(d) ?? 0) + 1);
      if (d) differ++;
    });
    if (differ === 0) identical++;
    if (argmax(logits) === argmax(expected)) sameTop1++;
  }
  const n = Object.keys(result.outputs).length;
  console.log(`interpreter nodes: ${[...new Set(result.nodes)].join(", ")}`);
  console.log(
    `TFLite interpreter vs reference: ${n} photos, ${identical} identical in all logits, same top-1 on ${sameTop1}; |difference| in logit steps: ${[
      ...histogram,
    ]
      .sort((a, b) => a[0] - b[0])
      .map(([d, c]) => `${d}: ${c}`)
      .join(", ")}`,
  );
}
