// A converted model folder (config.json + model.safetensors, as `papr convert` writes it) read over
// fetch: the browser's way to load weights (Node 20 has fetch too, but src/node.ts reads from disk).
import { tfliteIntegerModel } from "./tflite_file.ts";
import { readSafetensors } from "../tensor/safetensors.ts";
import { buildModel, type LoadedModel, type ModelFile } from "./registry.ts";

/** Loads the model folder at `base` (a URL, relative to the page or worker); `role` names it in errors. */
export async function fetchModelDir(base: string | URL, role = "model"): Promise<LoadedModel> {
  if (String(base).endsWith(".tflite")) return fetchTflite(base, role);
  const dir = new URL(String(base).endsWith("/") ? String(base) : `${base}/`, globalThis.location?.href);
  const get = async (name: string): Promise<Response> => {
    const url = new URL(name, dir).href;
    let response: Response;
    try {
      response = await fetch(url);
    } catch (e) {
      throw new Error(`${role}: cannot fetch ${url} (${(e as Error).message})`);
    }
    if (!response.ok) throw new Error(`${role}: ${url}: HTTP ${response.status} ${response.statusText}`);
    return response;
  };
  let file: ModelFile;
  try {
    file = await (await get("config.json")).json();
  } catch (e) {
    throw new Error(`${role}: ${dir.href}config.json is not valid JSON (${(e as Error).message})`);
  }
  if (file.format !== "papr-ts/1")
    throw new Error(`${role}: ${dir.href}config.json: format '${String(file.format)}' is not 'papr-ts/1'`);
  const bytes = new Uint8Array(await (await get("model.safetensors")).arrayBuffer());
  const { tensors } = readSafetensors(bytes, `${dir.href}model.safetensors`);
  try {
    return buildModel(file, tensors);
  } catch (e) {
    throw new Error(`${role}: ${dir.href}: ${(e as Error).message}`);
  }
}

/** A .tflite URL: the model runs in TFLite's integer arithmetic (tflite_file.ts). */
async function fetchTflite(url: string | URL, role: string): Promise<LoadedModel> {
  const href = new URL(String(url), globalThis.location?.href).href;
  let response: Response;
  try {
    response = await fetch(href);
  } catch (e) {
    throw new Error(`${role}: cannot fetch ${href} (${(e as Error).message})`);
  }
  if (!response.ok) throw new Error(`${role}: ${href}: HTTP ${response.status} ${response.statusText}`);
  try {
    return tfliteIntegerModel(new Uint8Array(await response.arrayBuffer()), href);
  } catch (e) {
    throw new Error(`${role}: ${(e as Error).message}`);
  }
}
