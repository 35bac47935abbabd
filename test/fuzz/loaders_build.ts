// Builders for checkpoint files made at test time (nothing hostile is committed): safetensors from
// a header object, torch.save zips from a hand-assembled pickle, TF.js model folders.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { concatBytes } from "./mutate.ts";

const utf8 = new TextEncoder();

/** A safetensors file: u64 header length, the header (JSON text, or raw bytes), the data. */
export function safetensorsBytes(header: unknown, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const text =
    typeof header === "string"
      ? utf8.encode(header)
      : header instanceof Uint8Array
        ? header
        : utf8.encode(JSON.stringify(header));
  const length = new Uint8Array(8);
  new DataView(length.buffer).setBigUint64(0, BigInt(text.length), true);
  return concatBytes(length, text, data);
}

export function float32Bytes(values: number[]): Uint8Array {
  const out = new Uint8Array(4 * values.length);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat32(4 * i, v, true));
  return out;
}

/** A pickle assembled opcode by opcode (protocol 2 framing; the reader accepts any opcode of 2-5). */
export class Pickle {
  private readonly out: number[] = [0x80, 2];

  op(...codes: number[]): this {
    for (const c of codes) this.out.push(c);
    return this;
  }

  raw(bytes: Uint8Array): this {
    for (const b of bytes) this.out.push(b);
    return this;
  }

  str(s: string): this {
    const b = utf8.encode(s);
    return b.length < 256 ? this.op(0x8c, b.length).raw(b) : this.op(0x58, ...le(b.length, 4)).raw(b);
  }

  int(n: number): this {
    if (n >= 0 && n < 256) return this.op(0x4b, n);
    if (n >= -(2 ** 31) && n < 2 ** 31) return this.op(0x4a, ...le(n >>> 0, 4));
    let big = BigInt(n); // LONG1, two's complement little-endian
    const bytes: number[] = [];
    for (;;) {
      bytes.push(Number(big & 0xffn));
      big >>= 8n;
      const negative = (bytes[bytes.length - 1] & 0x80) !== 0;
      if ((big === 0n && !negative) || (big === -1n && negative)) break;
    }
    return this.op(0x8a, bytes.length, ...bytes);
  }

  global(module: string, name: string): this {
    return this.op(0x63).raw(utf8.encode(`${module}\n${name}\n`));
  }

  mark(): this {
    return this.op(0x28);
  }
  tuple(): this {
    return this.op(0x74);
  }
  emptyDict(): this {
    return this.op(0x7d);
  }
  emptyList(): this {
    return this.op(0x5d);
  }
  setItem(): this {
    return this.op(0x73);
  }
  setItems(): this {
    return this.op(0x75);
  }
  append(): this {
    return this.op(0x61);
  }
  put(i: number): this {
    return this.op(0x72, ...le(i, 4));
  }
  get(i: number): this {
    return this.op(0x6a, ...le(i, 4));
  }

  /** torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()). */
  tensor(key: string, storageType: string, numel: number, offset: number, shape: number[], stride: number[]): this {
    this.global("torch._utils", "_rebuild_tensor_v2").mark();
    this.mark().str("storage").global("torch", storageType).str(key).str("cpu").int(numel).tuple().op(0x51); // BINPERSID
    this.int(offset).mark();
    shape.forEach((d) => this.int(d));
    this.tuple().mark();
    stride.forEach((d) => this.int(d));
    this.tuple().op(0x89); // NEWFALSE
    this.global("collections", "OrderedDict").op(0x29, 0x52); // EMPTY_TUPLE, REDUCE
    return this.tuple().op(0x52);
  }

  /** The pickle's bytes, ending with STOP. */
  bytes(): Uint8Array {
    return Uint8Array.from([...this.out, 0x2e]);
  }
}

function le(value: number, width: number): number[] {
  return Array.from({ length: width }, (_, i) => Math.floor(value / 256 ** i) % 256);
}

/** A zip archive with every entry stored (method 0), as torch.save writes them (CRCs left 0: the reader does not check them). */
export function zipStored(entries: [string, Uint8Array][]): Uint8Array {
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const nameBytes = utf8.encode(name);
    const local = new Uint8Array(30 + nameBytes.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint32(18, data.length, true);
    lv.setUint32(22, data.length, true);
    lv.setUint16(26, nameBytes.length, true);
    local.set(nameBytes, 30);
    const central = new Uint8Array(46 + nameBytes.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint32(20, data.length, true);
    cv.setUint32(24, data.length, true);
    cv.setUint16(28, nameBytes.length, true);
    cv.setUint32(42, offset, true);
    central.set(nameBytes, 46);
    locals.push(local, data);
    centrals.push(central);
    offset += local.length + data.length;
  }
  const directory = concatBytes(...centrals);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, directory.length, true);
  ev.setUint32(16, offset, true);
  return concatBytes(...locals, directory, end);
}

/** A torch.save-style zip: archive/data.pkl, archive/data/<key> storages, version, byteorder. */
export function pthBytes(pickle: Uint8Array, storages: Record<string, Uint8Array> = {}): Uint8Array {
  return zipStored([
    ["archive/data.pkl", pickle],
    ...Object.entries(storages).map(([key, bytes]): [string, Uint8Array] => [`archive/data/${key}`, bytes]),
    ["archive/version", utf8.encode("3\n")],
    ["archive/byteorder", utf8.encode("little")],
  ]);
}

/** Writes <dir>/model.json (a minimal layers topology plus `manifest`) and the shards; returns the model.json path. */
export function writeTfjsModel(dir: string, manifest: unknown, shards: Record<string, Uint8Array> = {}): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "model.json");
  // JSON.stringify would write Infinity as null: mark it and write 1e999, which JSON.parse reads as Infinity
  const infinity = (_key: string, v: unknown) => (v === Infinity ? "<Infinity>" : v);
  const json = JSON.stringify(
    { modelTopology: { class_name: "Sequential", config: { layers: [] } }, weightsManifest: manifest },
    infinity,
  );
  writeFileSync(path, json.replaceAll('"<Infinity>"', "1e999"));
  for (const [name, bytes] of Object.entries(shards)) writeFileSync(join(dir, name), bytes);
  return path;
}
