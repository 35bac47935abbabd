// The demo page's main thread: controls, drawing, and messages to the inference worker (worker.js).
// Nothing heavy runs here, so the page stays responsive while a large image decodes or the ViT runs.
//
// URL parameters: ?backbone=URL&proposer=URL (model directories, same origin; default: weights/ of the
// repository), &z=0.5 (initial keep ratio), &threads=N (default: every core, navigator.hardwareConcurrency).
// window.paprDemo exposes { state, error, last, results, engine } for the end-to-end test (test/web/browser.test.ts).

const MAX_FILE_BYTES = 64 * 1024 * 1024; // bigger files are refused before reading; dimensions are checked in the worker
const params = new URLSearchParams(location.search);
const weights = {
  backbone: params.get("backbone") ?? "../../weights/deit-distilled-scenes/",
  proposer: params.get("proposer") ?? "../../weights/mobilenetv3-scenes/",
};
const threads = params.has("threads") ? Number(params.get("threads")) : undefined;

const $ = (id) => document.getElementById(id);
const ui = {
  file: $("file"),
  example: $("example"),
  z: $("z"),
  zValue: $("zValue"),
  status: $("status"),
  error: $("error"),
  result: $("result"),
  picture: $("picture"),
  top5: $("top5"),
  stats: $("stats"),
  weights: $("weights"),
};

const demo = { state: "loading", error: null, last: null, results: 0, engine: null };
window.paprDemo = demo;

let worker = null;
let job = 0; // id of the latest request sent
let inFlight = null; // the request the worker is running
let pending = null; // the newest request waiting for the worker (older ones are dropped)
let hasImage = false;

function setState(state, status) {
  demo.state = state;
  document.body.dataset.state = state;
  if (status !== undefined) ui.status.textContent = status;
}

function showError(message) {
  demo.error = message;
  ui.error.textContent = message;
  ui.error.hidden = false;
}

function clearError() {
  demo.error = null;
  ui.error.hidden = true;
}

// ---- the worker ------------------------------------------------------------------------------

function startWorker() {
  worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  worker.onmessage = ({ data }) => onMessage(data);
  worker.onerror = (event) => {
    // a worker that cannot start (bundle missing) or dies (out of memory on a huge image)
    event.preventDefault?.();
    worker.terminate();
    inFlight = pending = null;
    hasImage = false;
    const missing = demo.state === "loading" ? " Is dist/papr.js built (npm run build:web)?" : "";
    showError(
      `The inference worker stopped: ${event.message || "it failed to load or ran out of memory"}.${missing} Reloading the models…`,
    );
    setTimeout(() => {
      startWorker();
      loadModels();
    }, 500);
  };
}

function loadModels() {
  setState("loading", `loading the models (${weights.backbone}, ${weights.proposer})…`);
  worker.postMessage({ type: "load", ...weights, threads });
}

function request(message) {
  message.job = ++job;
  if (inFlight) {
    pending = message;
    return;
  }
  send(message);
}

function send(message) {
  inFlight = message;
  setState(
    "busy",
    message.bytes ? `decoding and classifying ${message.name}…` : `classifying at z = ${message.z.toFixed(2)}…`,
  );
  worker.postMessage(message, message.bytes ? [message.bytes] : []);
}

function next() {
  inFlight = null;
  if (pending) {
    const message = pending;
    pending = null;
    send(message);
    return true;
  }
  return false;
}

function onMessage(data) {
  switch (data.type) {
    case "loaded": {
      const line = (role, m) => `${role}: ${m.arch}${m.source ? ` (${m.source})` : ""} from ${m.url}`;
      const { backend, threads, note } = data.engine;
      const engine = `engine: ${backend}, ${threads} thread${threads === 1 ? "" : "s"}${note ? ` (${note})` : ""}`;
      ui.weights.textContent = `${line("backbone", data.backbone)} · ${line("proposer", data.proposer)} · ${engine}`;
      demo.engine = data.engine;
      clearError();
      setState("ready", "ready: choose or drop an image");
      return;
    }
    case "result": {
      const waiting = next();
      hasImage = true;
      clearError();
      render(data);
      demo.last = data;
      demo.results++;
      if (!waiting) setState("ready", `done: ${data.name} at z = ${data.z.toFixed(2)}`);
      return;
    }
    case "error": {
      const failed = inFlight;
      if (failed?.bytes && pending && !pending.bytes) pending = null; // a z change for the image that failed
      const waiting = next();
      if (data.stage === "load") {
        setState("error", "the models could not be loaded");
        showError(
          `${data.message}\n\nThe default weights are weights/deit-distilled-scenes and weights/mobilenetv3-scenes of the repository; ` +
            "give others with ?backbone=URL&proposer=URL.",
        );
        return;
      }
      if (failed?.bytes) hasImage = false; // the worker dropped its image: a z change has nothing to classify
      showError(data.stage === "classify" ? `Cannot classify: ${data.message}` : data.message);
      if (!waiting) setState("ready", "ready: choose or drop another image");
      return;
    }
  }
}

// ---- drawing -------------------------------------------------------------------------------

function render(r) {
  const { width, height, rgba } = r.picture;
  ui.picture.width = width;
  ui.picture.height = height;
  ui.picture.getContext("2d").putImageData(new ImageData(rgba, width, height), 0, 0);

  ui.top5.replaceChildren(
    ...r.top5.map(({ label, probability }) => {
      const li = document.createElement("li");
      const bar = document.createElement("span");
      bar.className = "bar";
      bar.style.width = `${Math.max(1, Math.round(120 * probability))}px`;
      li.append(`${label} — ${(100 * probability).toFixed(1)}%`, bar);
      return li;
    }),
  );

  const g = (macs) => `${(macs / 1e9).toFixed(3)} G`;
  const blocks = (t) => t.blocks.reduce((a, b) => a + b, 0);
  const prefix = r.tokensPerBlock[0] - r.keptCount;
  const rows = [
    ["image", `${r.name} (${r.imageSize[0]}×${r.imageSize[1]})`],
    ["z", r.z.toFixed(2)],
    [
      "tokens kept",
      `${r.keptCount} of ${r.numPatches} patches (+ ${prefix} prefix) = ${r.tokensPerBlock[0]} tokens per block`,
    ],
    [
      "MACs",
      `${g(r.macs.total)} vs ${g(r.unprunedMacs.total)} unpruned (${((100 * r.macs.total) / r.unprunedMacs.total).toFixed(1)}%), proposer ${g(r.macs.proposer)} included`,
    ],
    [
      "time",
      `${r.timeMs.total.toFixed(0)} ms (proposer ${r.timeMs.proposer.toFixed(0)}, blocks ${blocks(r.timeMs).toFixed(0)})` +
        (r.decodeMs ? ` + ${r.decodeMs.toFixed(0)} ms decode and preprocess` : ""),
    ],
  ];
  ui.stats.replaceChildren(
    ...rows.flatMap(([k, v]) => {
      const dt = document.createElement("dt");
      const dd = document.createElement("dd");
      dt.textContent = k;
      dd.textContent = v;
      dd.dataset.key = k;
      return [dt, dd];
    }),
  );
  ui.result.hidden = false;
}

// ---- input ---------------------------------------------------------------------------------

const zValue = () => Number(ui.z.value);

async function classifyFile(file) {
  if (demo.state === "loading" || demo.state === "error") {
    showError("The models are not loaded yet.");
    return;
  }
  if (file.size > MAX_FILE_BYTES) {
    showError(
      `${file.name}: the file is ${(file.size / 2 ** 20).toFixed(0)} MiB; this page accepts images up to ${MAX_FILE_BYTES / 2 ** 20} MiB.`,
    );
    return;
  }
  clearError();
  let bytes;
  try {
    bytes = await file.arrayBuffer();
  } catch (e) {
    showError(`${file.name}: cannot read the file (${e.message})`);
    return;
  }
  request({ type: "classify", name: file.name, z: zValue(), bytes });
}

async function loadExample(url) {
  const name = decodeURIComponent(url.split("/").pop());
  try {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    await classifyFile(new File([await response.blob()], name));
  } catch (e) {
    showError(`example ${url}: ${e.message}`);
  }
}

ui.file.addEventListener("change", () => {
  const file = ui.file.files?.[0];
  ui.example.value = "";
  if (file) classifyFile(file);
});
ui.example.addEventListener("change", () => {
  ui.file.value = "";
  if (ui.example.value) loadExample(ui.example.value);
});
ui.z.addEventListener("input", () => {
  ui.zValue.textContent = zValue().toFixed(2);
  if (hasImage && demo.state !== "loading" && demo.state !== "error")
    request({ type: "classify", name: "", z: zValue() });
});

// drop anywhere on the page
let dragDepth = 0;
addEventListener("dragenter", (e) => {
  e.preventDefault();
  dragDepth++;
  document.body.classList.add("dragging");
});
addEventListener("dragleave", () => {
  if (--dragDepth <= 0) {
    dragDepth = 0;
    document.body.classList.remove("dragging");
  }
});
addEventListener("dragover", (e) => e.preventDefault());
addEventListener("drop", (e) => {
  e.preventDefault();
  dragDepth = 0;
  document.body.classList.remove("dragging");
  const file = e.dataTransfer?.files?.[0];
  if (file) classifyFile(file);
  else showError("Drop an image file (PNG or JPEG).");
});

// ---- start ---------------------------------------------------------------------------------

async function listExamples() {
  try {
    const list = await (await fetch("examples.json")).json();
    for (const { name, url } of list) ui.example.append(new Option(name, url));
  } catch {
    ui.example.disabled = true;
  }
}

if (params.has("z")) ui.z.value = params.get("z");
ui.zValue.textContent = zValue().toFixed(2);
listExamples();
startWorker();
loadModels();
