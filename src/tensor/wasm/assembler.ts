// A small WebAssembly assembler: it turns readable instruction lists into a module's bytes at load
// time, so the wasm backend ships as TypeScript source (no committed binary, no compiler).
//
//   const bytes = assemble({
//     memory: { minPages: 1 },
//     functions: [{ name: "add", params: { x: "i32", y: "i32" }, results: ["i32"], locals: {},
//                   body: (l) => [["local.get", l.x], ["local.get", l.y], ["i32.add"]] }],
//   });
//
// Each instruction is [name, ...immediates] with the name as in the WebAssembly core specification
// (section 5.4, binary format of instructions) and the SIMD proposal (0xFD-prefixed opcodes; relaxed
// SIMD's f32x4.relaxed_madd is 0xFD 0x105; bulk memory's memory.copy / memory.fill are 0xFC 10 / 11). Memory instructions take [name, offset, alignLog2?]
// (alignment defaults to the natural one). Integers are LEB128 (unsigned for indices, signed for
// i32.const); f32.const is 4 little-endian bytes.

export type ValueType = "i32" | "i64" | "f32" | "f64" | "v128";
export type Instruction = [string, ...number[]];

export interface FunctionSource<P extends string = string, L extends string = string> {
  name: string; // exported under this name
  params: Record<P, ValueType>;
  results: ValueType[];
  locals: Record<L, ValueType>;
  /** The body; `l` maps every param and local name to its index. `end` is appended. */
  body: (l: Record<P | L, number>) => Instruction[];
}

export interface ModuleSource {
  /**
   * The one memory. `imported`: the module imports it as env.memory (the caller creates it, so that
   * several instances, one per thread, can share it); `shared` (needs `maxPages` and `imported`):
   * a shared memory of the threads proposal, limits flag 0x03.
   */
  memory: { minPages: number; maxPages?: number; imported?: boolean; shared?: boolean };
  functions: FunctionSource[];
}

const VALUE_TYPE: Record<ValueType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

// What follows an opcode: nothing, an unsigned index, a signed i32, an f32, a memarg, a block type.
type Immediate = "none" | "index" | "i32" | "f32" | "memarg" | "block" | "lane" | "memory" | "memories" | "shuffle";
interface OpcodeInfo {
  bytes: number[]; // the opcode (with the 0xFD prefix and the LEB128 sub-opcode for SIMD)
  immediate: Immediate;
  naturalAlign?: number; // log2 of the access size, for memory instructions
}

const plain = (code: number, immediate: Immediate = "none", naturalAlign?: number): OpcodeInfo => ({
  bytes: [code],
  immediate,
  naturalAlign,
});
const simd = (sub: number, immediate: Immediate = "none", naturalAlign?: number): OpcodeInfo => ({
  bytes: [0xfd, ...unsignedLeb(sub)],
  immediate,
  naturalAlign,
});

/** The instructions the kernels use (extend as needed; numbers from the core spec and the SIMD proposals). */
const OPCODES: Record<string, OpcodeInfo> = {
  // control
  block: plain(0x02, "block"),
  loop: plain(0x03, "block"),
  if: plain(0x04, "block"),
  else: plain(0x05),
  end: plain(0x0b),
  br: plain(0x0c, "index"),
  br_if: plain(0x0d, "index"),
  return: plain(0x0f),
  drop: plain(0x1a),
  select: plain(0x1b),
  // variables
  "local.get": plain(0x20, "index"),
  "local.set": plain(0x21, "index"),
  "local.tee": plain(0x22, "index"),
  // memory
  "i32.load": plain(0x28, "memarg", 2),
  "f32.load": plain(0x2a, "memarg", 2),
  "i32.store": plain(0x36, "memarg", 2),
  "f32.store": plain(0x38, "memarg", 2),
  "memory.size": plain(0x3f, "index"),
  "memory.grow": plain(0x40, "index"),
  // bulk memory (0xFC-prefixed) on memory 0: memory.copy(to, from, count) (overlaps allowed),
  // memory.fill(address, byte, count)
  "memory.copy": { bytes: [0xfc, 10], immediate: "memories" },
  "memory.fill": { bytes: [0xfc, 11], immediate: "memory" },
  // numbers
  "i32.const": plain(0x41, "i32"),
  "f32.const": plain(0x43, "f32"),
  "i32.eqz": plain(0x45),
  "i32.eq": plain(0x46),
  "i32.ne": plain(0x47),
  "i32.lt_s": plain(0x48),
  "i32.lt_u": plain(0x49),
  "i32.gt_s": plain(0x4a),
  "i32.le_s": plain(0x4c),
  "i32.ge_s": plain(0x4e),
  "i32.add": plain(0x6a),
  "i32.sub": plain(0x6b),
  "i32.mul": plain(0x6c),
  "i32.div_s": plain(0x6d),
  "i32.and": plain(0x71),
  "i32.shl": plain(0x74),
  "i32.shr_s": plain(0x75),
  "f32.abs": plain(0x8b),
  "f32.neg": plain(0x8c),
  "f32.sqrt": plain(0x91),
  "f32.add": plain(0x92),
  "f32.sub": plain(0x93),
  "f32.mul": plain(0x94),
  "f32.div": plain(0x95),
  "f32.min": plain(0x96),
  "f32.max": plain(0x97),
  "f32.convert_i32_s": plain(0xb2),
  "f32.eq": plain(0x5b),
  "f32.ne": plain(0x5c),
  "f32.lt": plain(0x5d),
  "f32.gt": plain(0x5e),
  "i32.shr_u": plain(0x76),
  "i32.or": plain(0x72),
  "i32.gt_u": plain(0x4b),
  "i32.ge_u": plain(0x4f),
  // SIMD (v128)
  "v128.load": simd(0x00, "memarg", 4),
  "v128.load32_splat": simd(0x09, "memarg", 2),
  "v128.store": simd(0x0b, "memarg", 4),
  "i8x16.shuffle": simd(0x0d, "shuffle"), // [name, 16 byte indices into the two operands' 32 bytes]
  "i32x4.splat": simd(0x11),
  "f32x4.ge": simd(0x46),
  "v128.bitselect": simd(0x52),
  "f32x4.splat": simd(0x13),
  "f32x4.extract_lane": simd(0x1f, "lane"),
  "i32x4.shl": simd(0xab),
  "i32x4.add": simd(0xae),
  "f32x4.abs": simd(0xe0),
  "f32x4.add": simd(0xe4),
  "f32x4.sub": simd(0xe5),
  "f32x4.mul": simd(0xe6),
  "f32x4.div": simd(0xe7),
  "f32x4.min": simd(0xe8),
  "f32x4.max": simd(0xe9),
  // relaxed SIMD: a*b + c with one or two roundings (Chromium; not Node 20)
  "f32x4.relaxed_madd": simd(0x105),
};

export function unsignedLeb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

export function signedLeb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function f32Bytes(value: number): number[] {
  const bytes = new Uint8Array(new Float32Array([value]).buffer);
  return [...bytes];
}

/** The bytes of one instruction. */
export function encodeInstruction([name, ...args]: Instruction): number[] {
  const info = OPCODES[name];
  if (info === undefined) throw new Error(`wasm assembler: unknown instruction '${name}'`);
  const arg = (i: number) => {
    if (args[i] === undefined) throw new Error(`wasm assembler: '${name}' needs immediate ${i + 1}`);
    return args[i];
  };
  switch (info.immediate) {
    case "none":
      return info.bytes;
    case "index":
      return [...info.bytes, ...unsignedLeb(arg(0))];
    case "lane":
      return [...info.bytes, arg(0)];
    case "memory": // the memory's index: always 0 (one memory)
      return [...info.bytes, 0];
    case "memories": // destination and source memory: both 0
      return [...info.bytes, 0, 0];
    case "shuffle":
      if (args.length !== 16 || args.some((b) => !(b >= 0 && b < 32)))
        throw new Error(`wasm assembler: '${name}' needs 16 byte indices in 0..31`);
      return [...info.bytes, ...args];
    case "i32":
      return [...info.bytes, ...signedLeb(arg(0))];
    case "f32":
      return [...info.bytes, ...f32Bytes(arg(0))];
    case "block": // [name] = no result (0x40); [name, valueTypeByte] otherwise
      return [...info.bytes, args[0] ?? 0x40];
    case "memarg": // [name, offset, alignLog2?]
      return [...info.bytes, ...unsignedLeb(args[1] ?? info.naturalAlign ?? 0), ...unsignedLeb(args[0] ?? 0)];
  }
}

const vector = (items: number[][]): number[] => [...unsignedLeb(items.length), ...items.flat()];
const section = (id: number, content: number[]): number[] => [id, ...unsignedLeb(content.length), ...content];
const utf8 = (text: string): number[] => {
  const bytes = [...new TextEncoder().encode(text)];
  return [...unsignedLeb(bytes.length), ...bytes];
};

function functionType(f: FunctionSource): number[] {
  const params = Object.values<ValueType>(f.params).map((t) => VALUE_TYPE[t]);
  return [
    0x60,
    ...unsignedLeb(params.length),
    ...params,
    ...unsignedLeb(f.results.length),
    ...f.results.map((t) => VALUE_TYPE[t]),
  ];
}

/** A function body: its locals (one group per local) and its instructions, then `end`. */
function functionBody(f: FunctionSource): number[] {
  const names = [...Object.keys(f.params), ...Object.keys(f.locals)];
  const index = Object.fromEntries(names.map((name, i) => [name, i]));
  const localTypes = Object.values<ValueType>(f.locals).map((t) => [1, VALUE_TYPE[t]]);
  const code = f.body(index).flatMap(encodeInstruction);
  const body = [...vector(localTypes), ...code, 0x0b];
  return [...unsignedLeb(body.length), ...body];
}

/** The bytes of a module with one memory (exported as "memory") and the given exported functions. */
export function assemble(source: ModuleSource): Uint8Array<ArrayBuffer> {
  const { functions, memory } = source;
  if (memory.shared && (memory.maxPages === undefined || !memory.imported))
    throw new Error("wasm assembler: a shared memory needs maxPages and imported: true");
  const limits =
    memory.maxPages === undefined
      ? [0x00, ...unsignedLeb(memory.minPages)]
      : [memory.shared ? 0x03 : 0x01, ...unsignedLeb(memory.minPages), ...unsignedLeb(memory.maxPages)];
  const exports = [
    [...utf8("memory"), 0x02, 0],
    ...functions.map((f, i) => [...utf8(f.name), 0x00, ...unsignedLeb(i)]),
  ];
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // "\0asm", version 1
    ...section(1, vector(functions.map(functionType))), // types: one per function
    ...(memory.imported ? section(2, vector([[...utf8("env"), ...utf8("memory"), 0x02, ...limits]])) : []), // imports: env.memory
    ...section(3, vector(functions.map((_, i) => unsignedLeb(i)))), // function i has type i
    ...(memory.imported ? [] : section(5, vector([limits]))), // memory 0, defined here
    ...section(7, vector(exports)),
    ...section(10, vector(functions.map(functionBody))), // code
  ];
  return new Uint8Array(bytes);
}
