// A bounds-checked reader of the FlatBuffers binary format (the container of TFLite's .tflite files),
// written from the format's description (flatbuffers.dev, "FlatBuffers internals"):
//
//   byte 0:          uoffset (u32) to the root table
//   table at t:      soffset (i32) at t; its vtable sits at t - soffset
//   vtable at v:     u16 vtable size in bytes, u16 table size in bytes, then one u16 per field:
//                    the field's offset from t (0 = field absent, the schema default applies)
//   offset field:    u32 at p, the target is p + value (tables, vectors, strings; always forward)
//   vector / string: u32 element count, then the elements (a string's bytes end with a 0 byte)
//
// Every position read is checked against the buffer's length first, so a hostile file can only
// produce a FlatbufferError naming the field (its path in the schema), never a read outside its
// bytes. Vector lengths are checked against the bytes left before anything is allocated. Offsets
// are unsigned and point forward, and the reader follows a fixed schema (no recursion driven by
// the file), so cyclic or self-pointing offsets cannot make it loop: they land on bytes that fail
// one of the checks (a vtable size under 4, a field past the table) or read as ordinary values.

export class FlatbufferError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FlatbufferError";
  }
}

/** Element widths of the scalar kinds the reader knows. */
const WIDTH = { u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, i64: 8, u64: 8 } as const;
export type ScalarKind = keyof typeof WIDTH;

export class Flatbuffer {
  readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly source: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(path: string, message: string): never {
    throw new FlatbufferError(`${this.source}: ${path}: ${message}`);
  }

  /** Throws unless [pos, pos + length) lies inside the buffer. */
  check(path: string, pos: number, length: number, what: string): void {
    if (!(Number.isSafeInteger(pos) && pos >= 0 && length >= 0 && pos + length <= this.bytes.length)) {
      this.fail(path, `${what} at byte ${pos} (${length} bytes) lies outside the file's ${this.bytes.length} bytes`);
    }
  }

  scalarAt(path: string, pos: number, kind: ScalarKind): number {
    this.check(path, pos, WIDTH[kind], kind);
    const v = this.view;
    switch (kind) {
      case "u8":
        return v.getUint8(pos);
      case "i8":
        return v.getInt8(pos);
      case "u16":
        return v.getUint16(pos, true);
      case "i16":
        return v.getInt16(pos, true);
      case "u32":
        return v.getUint32(pos, true);
      case "i32":
        return v.getInt32(pos, true);
      case "f32":
        return v.getFloat32(pos, true);
      case "i64":
      case "u64": {
        const big = kind === "i64" ? v.getBigInt64(pos, true) : v.getBigUint64(pos, true);
        const n = Number(big);
        if (!Number.isSafeInteger(n)) this.fail(path, `64-bit value ${big} is beyond 2^53`);
        return n;
      }
    }
  }

  /** The position an offset stored at `pos` points to (checked to leave room for a u32 there). */
  follow(path: string, pos: number): number {
    const target = pos + this.scalarAt(path, pos, "u32");
    this.check(path, target, 4, "offset target");
    return target;
  }

  /** The root table (byte 0 holds its offset). */
  root(path = "root"): Table {
    return this.tableAt(path, this.follow(path, 0));
  }

  tableAt(path: string, pos: number): Table {
    const vtable = pos - this.scalarAt(path, pos, "i32");
    this.check(path, vtable, 4, "vtable");
    const vtableSize = this.view.getUint16(vtable, true);
    const tableSize = this.view.getUint16(vtable + 2, true);
    if (vtableSize < 4 || vtableSize % 2 !== 0) this.fail(path, `vtable size ${vtableSize} (must be even and >= 4)`);
    if (tableSize < 4) this.fail(path, `table size ${tableSize} (must be >= 4, the vtable offset)`);
    this.check(path, vtable, vtableSize, "vtable");
    this.check(path, pos, tableSize, "table");
    return new Table(this, path, pos, vtable, (vtableSize - 4) / 2, tableSize);
  }
}

/** One table: fields by their index in the schema's declaration order. */
export class Table {
  constructor(
    readonly buf: Flatbuffer,
    readonly path: string,
    readonly pos: number,
    private readonly vtable: number,
    private readonly fieldCount: number,
    private readonly tableSize: number,
  ) {}

  /** The absolute position of field `index` (`width` bytes, inside the table), or null when absent. */
  private fieldPos(index: number, name: string, width: number): number | null {
    if (index >= this.fieldCount) return null;
    const offset = this.buf.view.getUint16(this.vtable + 4 + 2 * index, true);
    if (offset === 0) return null;
    if (offset < 4 || offset + width > this.tableSize)
      this.buf.fail(`${this.path}.${name}`, `field offset ${offset} lies outside its ${this.tableSize}-byte table`);
    return this.pos + offset;
  }

  has(index: number): boolean {
    return index < this.fieldCount && this.buf.view.getUint16(this.vtable + 4 + 2 * index, true) !== 0;
  }

  scalar(index: number, name: string, kind: ScalarKind, fallback: number): number {
    const pos = this.fieldPos(index, name, WIDTH[kind]);
    return pos === null ? fallback : this.buf.scalarAt(`${this.path}.${name}`, pos, kind);
  }

  table(index: number, name: string): Table | null {
    const pos = this.fieldPos(index, name, 4);
    if (pos === null) return null;
    const path = `${this.path}.${name}`;
    return this.buf.tableAt(path, this.buf.follow(path, pos));
  }

  /** A vector field: its element count and where the elements start (checked to fit in the file). */
  vector(index: number, name: string, elementBytes: number): { length: number; start: number } | null {
    const pos = this.fieldPos(index, name, 4);
    if (pos === null) return null;
    const path = `${this.path}.${name}`;
    const at = this.buf.follow(path, pos);
    const length = this.buf.view.getUint32(at, true);
    const room = this.buf.bytes.length - (at + 4);
    if (length > room / elementBytes)
      this.buf.fail(path, `vector of ${length} x ${elementBytes}-byte elements at byte ${at} runs past the file's end`);
    return { length, start: at + 4 };
  }

  scalars(index: number, name: string, kind: ScalarKind): number[] | null {
    const v = this.vector(index, name, WIDTH[kind]);
    if (!v) return null;
    const out = new Array<number>(v.length);
    for (let i = 0; i < v.length; i++)
      out[i] = this.buf.scalarAt(`${this.path}.${name}`, v.start + i * WIDTH[kind], kind);
    return out;
  }

  /** A [ubyte] vector as a view of the file's bytes (no copy). */
  bytes(index: number, name: string): Uint8Array | null {
    const v = this.vector(index, name, 1);
    return v ? this.buf.bytes.subarray(v.start, v.start + v.length) : null;
  }

  /** A vector of tables, each read lazily by `read(table, i)`. */
  tables<T>(index: number, name: string, read: (table: Table, i: number) => T): T[] {
    const v = this.vector(index, name, 4);
    if (!v) return [];
    const out: T[] = [];
    for (let i = 0; i < v.length; i++) {
      const path = `${this.path}.${name}[${i}]`;
      out.push(read(this.buf.tableAt(path, this.buf.follow(path, v.start + 4 * i)), i));
    }
    return out;
  }

  string(index: number, name: string): string | null {
    const v = this.vector(index, name, 1);
    if (!v) return null;
    return new TextDecoder("utf-8").decode(this.buf.bytes.subarray(v.start, v.start + v.length));
  }
}
