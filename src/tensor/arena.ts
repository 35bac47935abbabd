// Activation buffers reused across forward passes. Kernels take their output arrays from
// allocFloat32(n): a plain new Float32Array(n) outside an arena; inside withArena(arena, run), a
// buffer of exactly n floats that the arena handed out in an earlier run (or a new one it keeps).
// After warm-up a forward of the same shapes allocates nothing: every output comes from the buffers
// of the last run, which withArena hands out again at its start. So a tensor made inside a run is
// valid until the next run on the same arena: whoever returns results from a run copies them out
// (Papr.predict copies its logits and final tokens).
//
//   const arena = new Arena();
//   const logits = withArena(arena, () => vit.forward(x)).clone();   // clone: the buffer is reused next time
//
// Buffers are not zeroed when reused: every kernel that takes one writes all of it.

export class Arena {
  private readonly free = new Map<number, Float32Array[]>(); // by length: not handed out in this run
  private readonly used: Float32Array[] = []; // handed out in this run
  private bytes = 0;

  /** A buffer of n floats (contents undefined), from the free ones of this length or new. */
  take(n: number): Float32Array {
    const buffer = this.free.get(n)?.pop() ?? this.grow(n);
    this.used.push(buffer);
    return buffer;
  }

  /** Every buffer handed out so far becomes free again (a new run starts). */
  recycle(): void {
    for (const buffer of this.used) {
      const list = this.free.get(buffer.length);
      if (list === undefined) this.free.set(buffer.length, [buffer]);
      else list.push(buffer);
    }
    this.used.length = 0;
  }

  /** Bytes held in all (free and used) buffers. */
  heldBytes(): number {
    return this.bytes;
  }

  private grow(n: number): Float32Array {
    this.bytes += 4 * n;
    return new Float32Array(n);
  }
}

let active: Arena | null = null;

/** n floats for a kernel's output: from the active arena, or new (zeroed) outside one. */
export function allocFloat32(n: number): Float32Array {
  return active === null ? new Float32Array(n) : active.take(n);
}

/**
 * Runs `run` with `arena` active (kernels' outputs come from it), after recycling its previous run's
 * buffers. Inside another arena's run, runs in that one (the outer run owns the buffers).
 */
export function withArena<T>(arena: Arena, run: () => T): T {
  if (active !== null) return run();
  arena.recycle();
  active = arena;
  try {
    return run();
  } finally {
    active = null;
  }
}
