// A SAFE unpickler for the subset of Python pickles that torch.save writes for
// state dicts (protocols 2-5). Pure TS, no Node built-ins.
//
// It never imports or runs anything: GLOBAL / STACK_GLOBAL resolve only to the
// fixed allow-list below (OrderedDict, torch's tensor/parameter rebuild
// functions, torch.Size and the torch.*Storage type markers), each implemented
// here as a plain TS function that builds a description. Any other global (a
// model class, numpy scalars, argparse.Namespace, os.system, ...) is refused
// with an error naming it. Tensors come out as `TorchTensor` descriptions
// (storage key, offset, shape, strides); pth.ts reads their bytes.
//
// Python values map to: None -> null, bool -> boolean, int -> number (bigint
// beyond 2^53), float -> number, str -> string, bytes -> Uint8Array,
// list -> array, tuple -> PyTuple, dict / OrderedDict -> Map.
//
// Cost: every opcode takes at least one byte and builds at most one bounded object, so time and
// memory are linear in the pickle's size, with one exception bounded here:
//   MAX_INT_BYTES  256  LONG1 / LONG4 integers are built digit by digit (quadratic in their length);
//                       torch writes ints of at most 8 bytes (sizes, strides, the magic number)
// Structures the pickle shares through its memo (one dict referenced 10^4 times, a list holding
// itself) are cheap here but not to walk: pth.ts bounds that walk.

import { escapePath, escapeText, quote } from "../../tensor/quote.ts";

const MAX_INT_BYTES = 256;

export type TorchDType =
  "float32" | "float64" | "float16" | "bfloat16" | "int64" | "int32" | "int16" | "int8" | "uint8" | "bool";

export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PyValue[]
  | PyTuple
  | PyDict
  | StorageType
  | TorchStorage
  | TorchTensor
  | PyCallable;

export type PyDict = Map<PyValue, PyValue>;

export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

/** A torch.*Storage class used as a dtype marker inside a persistent id. */
export class StorageType {
  constructor(
    readonly name: string,
    readonly dtype: TorchDType,
  ) {}
}

/** A storage from the persistent id ('storage', type, key, location, numel): bytes live in <archive>/data/<key>. */
export class TorchStorage {
  constructor(
    readonly dtype: TorchDType,
    readonly key: string,
    readonly location: string,
    readonly numel: number,
  ) {}
}

/** A tensor view: shape and strides in elements, offset into its storage. */
export class TorchTensor {
  constructor(
    readonly storage: TorchStorage,
    readonly storageOffset: number,
    readonly shape: number[],
    readonly stride: number[],
    readonly requiresGrad: boolean,
  ) {}
}

/** An allow-listed global that REDUCE / NEWOBJ may call. */
export class PyCallable {
  constructor(
    readonly name: string,
    readonly call: (args: PyValue[]) => PyValue,
  ) {}
}

export class PickleError extends Error {
  constructor(message: string) {
    super(`pickle: ${message}`); // callers escape what came from the file
    this.name = "PickleError";
  }
}

// ---- the allow-list --------------------------------------------------------

const STORAGE_TYPES: Record<string, TorchDType> = {
  FloatStorage: "float32",
  DoubleStorage: "float64",
  HalfStorage: "float16",
  BFloat16Storage: "bfloat16",
  LongStorage: "int64",
  IntStorage: "int32",
  ShortStorage: "int16",
  CharStorage: "int8",
  ByteStorage: "uint8",
  BoolStorage: "bool",
};

const CALLABLES: Record<string, (args: PyValue[]) => PyValue> = {
  "collections.OrderedDict": orderedDict,
  "torch._utils._rebuild_tensor": rebuildTensor, // (storage, offset, size, stride)
  "torch._utils._rebuild_tensor_v2": rebuildTensor, // (..., requires_grad, backward_hooks[, metadata])
  "torch._utils._rebuild_parameter": rebuildParameter, // (data, requires_grad, backward_hooks)
  "torch._utils._rebuild_parameter_with_state": rebuildParameter, // (..., state)
  "torch.Size": (args) => new PyTuple(args.length ? itemsOf(args[0], "torch.Size argument") : []),
};

function resolveGlobal(module: string, name: string): PyValue {
  const qualified = `${module}.${name}`;
  if (module === "torch" && name in STORAGE_TYPES) return new StorageType(name, STORAGE_TYPES[name]);
  const call = CALLABLES[qualified];
  if (call) return new PyCallable(qualified, call);
  throw new Error(
    `refusing global ${quote(qualified, 80)}: only tensors, dicts, lists and plain values can be read ` +
      "(save model.state_dict() rather than a whole model or other Python objects)",
  );
}

function orderedDict(args: PyValue[]): PyDict {
  const out: PyDict = new Map();
  if (args.length > 0)
    for (const pair of itemsOf(args[0], "OrderedDict argument")) {
      const [key, value] = itemsOf(pair, "OrderedDict item");
      out.set(key, value);
    }
  return out;
}

function rebuildTensor(args: PyValue[]): TorchTensor {
  const [storage, offset, size, stride, requiresGrad] = args;
  if (!(storage instanceof TorchStorage))
    throw new Error(`expected a storage as first argument, got ${describe(storage)}`);
  const shape = intsOf(size, "size");
  const strides = intsOf(stride, "stride");
  if (shape.length !== strides.length)
    throw new Error(`size (${shape.length} dims) and stride (${strides.length} dims) differ in length`);
  return new TorchTensor(storage, intOf(offset, "storage offset"), shape, strides, requiresGrad === true);
}

function rebuildParameter(args: PyValue[]): TorchTensor {
  const [data, requiresGrad] = args;
  if (!(data instanceof TorchTensor)) throw new Error(`expected a tensor, got ${describe(data)}`);
  return new TorchTensor(data.storage, data.storageOffset, data.shape, data.stride, requiresGrad === true);
}

/** torch's persistent id for a storage: ('storage', StorageType, key, location, numel). */
function persistentLoad(pid: PyValue): TorchStorage {
  const items = pid instanceof PyTuple ? pid.items : [];
  const [tag, type, key, location, numel] = items;
  if (tag !== "storage" || !(type instanceof StorageType) || typeof key !== "string") {
    throw new Error(
      `unsupported persistent id ${describe(pid)} (expected ('storage', torch.*Storage, key, location, numel))`,
    );
  }
  return new TorchStorage(
    type.dtype,
    key,
    typeof location === "string" ? location : "?",
    typeof numel === "number" ? numel : -1,
  );
}

// ---- the machine -----------------------------------------------------------

const utf8 = new TextDecoder("utf-8", { fatal: true });
const latin1 = new TextDecoder("latin1");

/** Unpickles `bytes` (one pickle, up to STOP). `source` names the file in errors. */
export function unpickle(bytes: Uint8Array, source = "<buffer>"): PyValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  let opStart = 0;
  let stack: PyValue[] = [];
  const marks: PyValue[][] = [];
  const memo = new Map<number, PyValue>();

  const fail = (message: string): never => {
    throw new PickleError(`${message} (${escapePath(source)}, byte ${opStart})`);
  };
  const take = (n: number): Uint8Array => {
    if (pos + n > bytes.length)
      fail(`truncated: needs ${n} more bytes at byte ${pos} but the pickle has ${bytes.length}`);
    pos += n;
    return bytes.subarray(pos - n, pos);
  };
  const u8 = () => take(1)[0];
  const u16 = () => (take(2), view.getUint16(pos - 2, true));
  const u32 = () => (take(4), view.getUint32(pos - 4, true));
  const i32 = () => (take(4), view.getInt32(pos - 4, true));
  const u64 = () => {
    take(8);
    const n = view.getBigUint64(pos - 8, true);
    if (n > BigInt(bytes.length)) fail(`length ${n} exceeds the pickle's ${bytes.length} bytes (truncated or corrupt)`);
    return Number(n);
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail("truncated: GLOBAL name has no newline");
    const text = latin1.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return text;
  };
  const text = (n: number): string => {
    try {
      return utf8.decode(take(n));
    } catch (e) {
      if (e instanceof PickleError) throw e;
      return fail("string is not valid UTF-8");
    }
  };
  const push = (v: PyValue) => void stack.push(v);
  const pop = (): PyValue => (stack.length ? stack.pop()! : fail("stack underflow"));
  const top = (): PyValue => (stack.length ? stack[stack.length - 1] : fail("stack underflow"));
  const popMark = (): PyValue[] => {
    if (!marks.length) fail("no MARK on the stack");
    const items = stack;
    stack = marks.pop()!;
    return items;
  };
  const dictOnTop = (): PyDict => {
    const d = top();
    return d instanceof Map ? d : fail(`SETITEM(S) on ${describe(d)}, expected a dict`);
  };
  const listOnTop = (): PyValue[] => {
    const l = top();
    return Array.isArray(l) ? l : fail(`APPEND(S) on ${describe(l)}, expected a list`);
  };
  const guarded = <T>(what: string, f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (e instanceof PickleError) throw e;
      return fail(what ? `${what}: ${(e as Error).message}` : (e as Error).message);
    }
  };
  const global = (module: string, name: string) => guarded("", () => resolveGlobal(module, name));
  const call = (callable: PyValue, args: PyValue) => {
    if (!(callable instanceof PyCallable)) return fail(`cannot call ${describe(callable)}`);
    if (!(args instanceof PyTuple)) return fail(`arguments to ${callable.name} must be a tuple, got ${describe(args)}`);
    return guarded(callable.name, () => callable.call(args.items));
  };

  for (;;) {
    opStart = pos;
    if (pos >= bytes.length) fail(`truncated: ended after ${bytes.length} bytes without STOP`);
    const op = bytes[pos++];
    switch (op) {
      case 0x80: {
        // PROTO
        const protocol = u8();
        if (protocol > 5) fail(`unsupported pickle protocol ${protocol}`);
        break;
      }
      case 0x95:
        u64();
        break; // FRAME: a length hint, the opcodes follow inline
      case 0x2e:
        return pop(); // STOP
      case 0x28:
        marks.push(stack);
        stack = [];
        break; // MARK
      case 0x30:
        if (stack.length) stack.pop();
        else popMark();
        break; // POP
      case 0x31:
        popMark();
        break; // POP_MARK
      case 0x32:
        push(top());
        break; // DUP

      case 0x4e:
        push(null);
        break; // NONE
      case 0x88:
        push(true);
        break; // NEWTRUE
      case 0x89:
        push(false);
        break; // NEWFALSE
      case 0x4a:
        push(i32());
        break; // BININT
      case 0x4b:
        push(u8());
        break; // BININT1
      case 0x4d:
        push(u16());
        break; // BININT2
      case 0x8a:
        push(littleEndianInt(take(u8())));
        break; // LONG1
      case 0x8b: {
        // LONG4
        const n = i32();
        if (n < 0) fail("negative LONG4 length");
        if (n > MAX_INT_BYTES)
          fail(
            `LONG4 integer of ${n} bytes, over the limit of ${MAX_INT_BYTES} (no int in a state dict is that large)`,
          );
        push(littleEndianInt(take(n)));
        break;
      }
      case 0x47:
        take(8);
        push(view.getFloat64(pos - 8, false));
        break; // BINFLOAT (big-endian)

      case 0x58:
        push(text(u32()));
        break; // BINUNICODE
      case 0x8d:
        push(text(u64()));
        break; // BINUNICODE8
      case 0x8c:
        push(text(u8()));
        break; // SHORT_BINUNICODE
      case 0x54: {
        // BINSTRING (Python 2 str)
        const n = i32();
        if (n < 0) fail("negative BINSTRING length");
        push(latin1.decode(take(n)));
        break;
      }
      case 0x55:
        push(latin1.decode(take(u8())));
        break; // SHORT_BINSTRING
      case 0x42:
        push(take(u32()).slice());
        break; // BINBYTES
      case 0x43:
        push(take(u8()).slice());
        break; // SHORT_BINBYTES
      case 0x8e:
      case 0x96:
        push(take(u64()).slice());
        break; // BINBYTES8, BYTEARRAY8

      case 0x7d:
        push(new Map());
        break; // EMPTY_DICT
      case 0x5d:
        push([]);
        break; // EMPTY_LIST
      case 0x29:
        push(new PyTuple([]));
        break; // EMPTY_TUPLE
      case 0x85:
        push(new PyTuple([pop()]));
        break; // TUPLE1
      case 0x86: {
        const b = pop();
        const a = pop();
        push(new PyTuple([a, b]));
        break;
      } // TUPLE2
      case 0x87: {
        const c = pop();
        const b = pop();
        const a = pop();
        push(new PyTuple([a, b, c]));
        break;
      } // TUPLE3
      case 0x74:
        push(new PyTuple(popMark()));
        break; // TUPLE
      case 0x6c:
        push(popMark());
        break; // LIST
      case 0x64: {
        // DICT
        const items = popMark();
        push(setItems(new Map(), items));
        break;
      }
      case 0x61: {
        const value = pop();
        listOnTop().push(value);
        break;
      } // APPEND
      case 0x65: {
        // APPENDS
        const items = popMark();
        const list = listOnTop();
        for (const item of items) list.push(item);
        break;
      }
      case 0x73: {
        const value = pop();
        const key = pop();
        dictOnTop().set(key, value);
        break;
      } // SETITEM
      case 0x75: {
        const items = popMark();
        setItems(dictOnTop(), items);
        break;
      } // SETITEMS

      case 0x71:
        memo.set(u8(), top());
        break; // BINPUT
      case 0x72:
        memo.set(u32(), top());
        break; // LONG_BINPUT
      case 0x94:
        memo.set(memo.size, top());
        break; // MEMOIZE
      case 0x68:
      case 0x6a: {
        // BINGET, LONG_BINGET
        const key = op === 0x68 ? u8() : u32();
        if (!memo.has(key)) fail(`memo key ${key} was never stored`);
        push(memo.get(key)!);
        break;
      }

      case 0x63: {
        const module = line();
        push(global(module, line()));
        break;
      } // GLOBAL
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") fail("STACK_GLOBAL needs two strings");
        push(global(module as string, name as string));
        break;
      }
      case 0x52:
      case 0x81: {
        const args = pop();
        push(call(pop(), args));
        break;
      } // REDUCE, NEWOBJ
      case 0x92: {
        // NEWOBJ_EX
        const kwargs = pop();
        const args = pop();
        if (!(kwargs instanceof Map) || kwargs.size > 0) fail("NEWOBJ_EX with keyword arguments is not supported");
        push(call(pop(), args));
        break;
      }
      case 0x62: {
        // BUILD: instance state; ignored for dicts (OrderedDict._metadata) and tensors
        const state = pop();
        const target = top();
        if (!(target instanceof Map || target instanceof TorchTensor))
          fail(`BUILD on ${describe(target)} is not supported`);
        if (!(state === null || state instanceof Map || state instanceof PyTuple))
          fail(`BUILD with state ${describe(state)} is not supported`);
        break;
      }
      case 0x51: {
        const pid = pop();
        push(guarded("persistent id", () => persistentLoad(pid)));
        break;
      } // BINPERSID

      default: {
        const name = REFUSED[op];
        fail(
          name
            ? `opcode ${name} (0x${hex(op)}) is not supported by this safe unpickler`
            : `unknown opcode 0x${hex(op)} (not a pickle, or corrupt)`,
        );
      }
    }
  }

  function setItems(dict: PyDict, items: PyValue[]): PyDict {
    if (items.length % 2) fail(`odd number of items (${items.length}) for a dict`);
    for (let i = 0; i < items.length; i += 2) dict.set(items[i], items[i + 1]);
    return dict;
  }
}

/** Opcodes that exist but are deliberately not handled (text protocol 0/1, imports, sets, out-of-band buffers). */
const REFUSED: Record<number, string> = {
  0x46: "FLOAT",
  0x49: "INT",
  0x4c: "LONG",
  0x50: "PERSID",
  0x53: "STRING",
  0x56: "UNICODE",
  0x67: "GET",
  0x70: "PUT",
  0x69: "INST",
  0x6f: "OBJ",
  0x82: "EXT1",
  0x83: "EXT2",
  0x84: "EXT4",
  0x8f: "EMPTY_SET",
  0x90: "ADDITEMS",
  0x91: "FROZENSET",
  0x97: "NEXT_BUFFER",
  0x98: "READONLY_BUFFER",
};

/** Two's-complement little-endian integer (LONG1 / LONG4); a number when it is exactly representable. */
function littleEndianInt(b: Uint8Array): number | bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]);
  if (b.length > 0 && b[b.length - 1] & 0x80) n -= 1n << BigInt(8 * b.length);
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

function hex(op: number): string {
  return op.toString(16).padStart(2, "0");
}

function itemsOf(v: PyValue, what: string): PyValue[] {
  if (v instanceof PyTuple) return v.items;
  if (Array.isArray(v)) return v;
  throw new Error(`${what} must be a tuple or list, got ${describe(v)}`);
}

function intOf(v: PyValue, what: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
    throw new Error(`${what} must be a non-negative int, got ${describe(v)}`);
  return v;
}

function intsOf(v: PyValue, what: string): number[] {
  return itemsOf(v, what).map((x) => intOf(x, what));
}

/** A short description of a value for error messages. */
export function describe(v: PyValue | undefined): string {
  if (v === undefined) return "nothing";
  if (v === null) return "None";
  if (typeof v === "string") return `str ${quote(v, 40)}`;
  if (typeof v === "number") return Number.isInteger(v) ? `int ${v}` : `float ${v}`;
  if (typeof v === "bigint") return `int ${v}`;
  if (typeof v === "boolean") return `bool ${v ? "True" : "False"}`;
  if (v instanceof Uint8Array) return `bytes (${v.length})`;
  if (Array.isArray(v)) return `list (${v.length} items)`;
  if (v instanceof PyTuple) return `tuple (${v.items.length} items)`;
  if (v instanceof Map) return `dict (${v.size} items)`;
  if (v instanceof TorchTensor) return `tensor (${v.shape.length} dims) ${v.storage.dtype}`;
  if (v instanceof TorchStorage) return `storage ${quote(v.key, 40)} ${v.dtype}`;
  if (v instanceof StorageType) return `torch.${v.name}`;
  return escapeText(v.name, 80);
}
