// The two checksums a PNG carries: CRC-32 over each chunk's type and data (PNG spec, section 5.3;
// ISO 3309 polynomial, reflected, 0xedb88320) and Adler-32 over the inflated image data at the end
// of the zlib stream (RFC 1950, section 8). Both are the textbook definitions.

/** CRC-32 of every byte value, the table of the bytewise algorithm. */
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 of `bytes` (unsigned). */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const ADLER_MOD = 65521; // the largest prime below 2^16
const ADLER_RUN = 5552; // most bytes summed before a reduction keeps b below 2^32 (RFC 1950's NMAX)

/** Running Adler-32: feed chunks with update(), read value. */
export class Adler32 {
  private a = 1;
  private b = 0;

  update(bytes: Uint8Array): void {
    let { a, b } = this;
    for (let start = 0; start < bytes.length; start += ADLER_RUN) {
      const end = Math.min(start + ADLER_RUN, bytes.length);
      for (let i = start; i < end; i++) {
        a += bytes[i];
        b += a;
      }
      a %= ADLER_MOD;
      b %= ADLER_MOD;
    }
    this.a = a;
    this.b = b;
  }

  get value(): number {
    return ((this.b << 16) | this.a) >>> 0;
  }
}
