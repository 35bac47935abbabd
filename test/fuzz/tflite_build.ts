// A minimal FlatBuffer writer for the tests: tables as lists of fields (by schema index), laid out
// front to back (root offset, identifier, then each table's vtable, the table, its children), so
// every offset points forward as the format requires. Enough to build small valid .tflite files,
// which the hostile tests then break on purpose.

export type Field =
  | null // absent
  | { u8: number }
  | { i8: number }
  | { i32: number }
  | { u32: number }
  | { f32: number }
  | { table: Field[] }
  | { tables: Field[][] }
  | { i32s: number[] }
  | { f32s: number[] }
  | { i64s: number[] }
  | { bytes: Uint8Array }
  | { string: string };

class Writer {
  bytes: number[] = [];
  align(n: number): void {
    while (this.bytes.length % n) this.bytes.push(0);
  }
  u16(v: number): void {
    this.bytes.push(v & 0xff, (v >> 8) & 0xff);
  }
  u32At(pos: number, v: number): void {
    for (let i = 0; i < 4; i++) this.bytes[pos + i] = (v >>> (8 * i)) & 0xff;
  }
  push(data: ArrayLike<number>): void {
    for (let i = 0; i < data.length; i++) this.bytes.push(data[i]);
  }
}

function scalarBytes(kind: string, value: number): number[] {
  const view = new DataView(new ArrayBuffer(8));
  if (kind === "u8" || kind === "i8") return [value & 0xff];
  if (kind === "f32") view.setFloat32(0, value, true);
  else view.setUint32(0, value >>> 0, true);
  return [...new Uint8Array(view.buffer, 0, 4)];
}

/** Writes a table; returns its position. */
function writeTable(w: Writer, fields: Field[]): number {
  // inline layout: soffset (4 bytes) then a 4-byte slot per present field
  const present = fields.map((f, i) => [f, i] as const).filter(([f]) => f !== null);
  w.align(4);
  const vtable = w.bytes.length;
  w.u16(4 + 2 * fields.length);
  w.u16(4 + 4 * present.length);
  const slot = new Map<number, number>();
  present.forEach(([, i], k) => slot.set(i, 4 + 4 * k));
  for (let i = 0; i < fields.length; i++) w.u16(slot.get(i) ?? 0);
  w.align(4);
  const table = w.bytes.length;
  w.push(scalarBytes("i32", table - vtable));
  const children: [number, Field][] = [];
  for (const [f] of present) {
    const pos = w.bytes.length;
    const kind = Object.keys(f!)[0];
    const value = (f as Record<string, unknown>)[kind];
    if (typeof value === "number") w.push([...scalarBytes(kind, value), 0, 0, 0].slice(0, 4));
    else {
      w.push([0, 0, 0, 0]);
      children.push([pos, f]);
    }
  }
  for (const [pos, f] of children) w.u32At(pos, writeChild(w, f!) - pos);
  return table;
}

function writeChild(w: Writer, f: Field): number {
  const kind = Object.keys(f!)[0];
  const value = (f as Record<string, unknown>)[kind];
  if (kind === "table") return writeTable(w, value as Field[]);
  w.align(8);
  if (kind === "i64s") w.push([0, 0, 0, 0]); // so the elements after the length are 8-aligned
  const start = w.bytes.length;
  if (kind === "tables") {
    const list = value as Field[][];
    w.push(scalarBytes("u32", list.length));
    const slots = list.map(() => {
      const p = w.bytes.length;
      w.push([0, 0, 0, 0]);
      return p;
    });
    list.forEach((t, i) => w.u32At(slots[i], writeTable(w, t) - slots[i]));
    return start;
  }
  if (kind === "string") {
    const text = new TextEncoder().encode(value as string);
    w.push(scalarBytes("u32", text.length));
    w.push([...text, 0]);
    return start;
  }
  if (kind === "bytes") {
    w.push(scalarBytes("u32", (value as Uint8Array).length));
    w.push(value as Uint8Array);
    return start;
  }
  const list = value as number[];
  w.push(scalarBytes("u32", list.length));
  for (const v of list) {
    if (kind === "i32s") w.push(scalarBytes("i32", v));
    else if (kind === "f32s") w.push(scalarBytes("f32", v));
    else w.push([...scalarBytes("u32", v), ...scalarBytes("i32", v < 0 ? -1 : 0)]);
  }
  return start;
}

/** root offset + file identifier + the root table. */
export function buildFlatbuffer(root: Field[], identifier = "TFL3"): Uint8Array {
  const w = new Writer();
  w.push([0, 0, 0, 0]);
  w.push([...identifier].map((c) => c.charCodeAt(0)));
  w.u32At(0, writeTable(w, root));
  return Uint8Array.from(w.bytes);
}

const quant = (scale: number, zero: number): Field => ({ table: [null, null, { f32s: [scale] }, { i64s: [zero] }] });
const tensor = (shape: number[], type: number, buffer: number, name: string, q: Field): Field[] => [
  { i32s: shape },
  { i8: type },
  { u32: buffer },
  { string: name },
  q,
];

/** A tiny quantized graph: input [1,4,4,3] uint8 -> CONV_2D 3x3 stride 2 SAME, ReLU6 -> [1,2,2,2]. */
export interface TinyOverrides {
  inputShape?: number[];
  weightBuffer?: number;
  opcodeIndex?: number;
  convInputs?: number[];
  paddingCode?: number;
}

export function tinyConvModel(o: TinyOverrides = {}): { bytes: Uint8Array; weight: Uint8Array; bias: Int32Array } {
  const weight = Uint8Array.from({ length: 2 * 3 * 3 * 3 }, (_, i) => (i * 37 + 11) % 256);
  const bias = Int32Array.from([1000, -2500]);
  const bytes = buildFlatbuffer([
    { u32: 3 }, // version
    { tables: [[{ i8: 3 }, null, { i32: 1 }, { i32: 3 }]] }, // CONV_2D
    {
      tables: [
        [
          {
            tables: [
              tensor(o.inputShape ?? [1, 4, 4, 3], 3, 0, "input", quant(1 / 128, 128)),
              tensor([2, 3, 3, 3], 3, o.weightBuffer ?? 1, "weight", quant(0.02, 120)),
              tensor([2], 2, 2, "bias", quant((1 / 128) * 0.02, 0)),
              tensor([1, 2, 2, 2], 3, 0, "output", quant(0.03, 0)),
            ],
          },
          { i32s: [0] },
          { i32s: [3] },
          {
            tables: [
              [
                { u32: o.opcodeIndex ?? 0 },
                { i32s: o.convInputs ?? [0, 1, 2] },
                { i32s: [3] },
                { u8: 1 }, // Conv2DOptions
                { table: [{ i8: o.paddingCode ?? 0 }, { i32: 2 }, { i32: 2 }, { i8: 3 }] }, // SAME, stride 2, RELU6
              ],
            ],
          },
          { string: "main" },
        ],
      ],
    },
    { string: "tiny test model" },
    {
      tables: [[], [{ bytes: weight }], [{ bytes: new Uint8Array(bias.buffer) }]],
    },
  ]);
  return { bytes, weight, bias };
}
