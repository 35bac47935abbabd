// The mask checksum of tools/golden/dimap_ref.py's mask_hash: sum over kept flat indices i of
// (i * 2654435761 mod 2^32), mod 2^32.
export function maskHash(keep: Uint8Array): number {
  let h = 0;
  for (let i = 0; i < keep.length; i++) if (keep[i]) h = (h + (Math.imul(i, 2654435761) >>> 0)) >>> 0;
  return h;
}
