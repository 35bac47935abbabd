// A hand-drawn 5x7 bitmap font (printable ASCII 32..126) with 2 extra rows for descenders (g j p q y , ; _),
// and the text helpers the chart uses. No Node built-ins: this runs in a browser too.

/** Something to draw into: row-major 8-bit RGB pixels. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}
export type Rgb = [number, number, number];

export const GLYPH_WIDTH = 5;
export const GLYPH_ROWS = 9; // 7 rows down to the baseline + 2 descender rows
export const ADVANCE = GLYPH_WIDTH + 1; // pixels per character at scale 1 (1 px gap)

// One string per character, from " " (32) to "~" (126). Each letter is one row, top first, as a base-32 digit
// (0-9, a-v) whose bit 4 is the leftmost column; a 9-letter string also has the two descender rows.
const GLYPHS = `
  0000000 4444404 aaa0000 aavavaa 4fke5u4 op248j3 cik8lid 4480000
  2488842 8422248 04lel40 044v440 00000cc48 000v000 00000cc 01248g0
  ehjlphe 4c4444e eh1248v v2421he 26aiv22 vgu11he 68guhhe v124888
  ehhehhe ehhf12c 0cc0cc0 0cc0cc480 248g842 00v0v00 8421248 eh12404
  ehnlngf ehhvhhh uhhuhhu ehggghe sihhhis vgguggv vgguggg ehgnhhf
  hhhvhhh e44444e 72222ic hikokih ggggggv hrllhhh hhpljhh ehhhhhe
  uhhuggg ehhhlid uhhukih fgge11u v444444 hhhhhhe hhhhha4 hhhllla
  hha4ahh hha4444 v1248gv e88888e 0g84210 e22222e 4ah0000 0000000v0
  8420000 00e1fhf ggmphhu 00egghe 11djhhf 00ehvge 698s888 00fhhjd1e
  ggmphhh 40c444e 2062222ic ggikoki c44444e 00qllll 00mphhh 00ehhhe
  00uhhpmgg 00fhhjd11 00mpggg 00fge1u 88s8896 00hhhjd 00hhha4 00hhlla
  00ha4ah 00hhhjd1e 00v248v 3448443 4444444 o44244o 008l200`
  .trim()
  .split(/\s+/);

/** The 9 row bit masks of a character (bit 4 = leftmost column); characters outside 32..126 draw as "?". */
export function glyphRows(char: string): number[] {
  const code = char.charCodeAt(0);
  const glyph = GLYPHS[code >= 32 && code <= 126 ? code - 32 : 31];
  const rows = [...glyph].map((digit) => parseInt(digit, 32));
  while (rows.length < GLYPH_ROWS) rows.push(0);
  return rows;
}

/** Width in pixels of one line of text (no trailing gap). */
export function textWidth(text: string, scale = 1): number {
  return text.length === 0 ? 0 : (text.length * ADVANCE - 1) * scale;
}

/** Height in pixels of one line of text, descenders included. */
export function textHeight(scale = 1): number {
  return GLYPH_ROWS * scale;
}

/** Draws one line of text with its top-left corner at (x, y), each font pixel a scale x scale square;
 *  pixels outside the image are skipped. */
export function drawText(image: RgbImage, text: string, x: number, y: number, scale: number, color: Rgb): void {
  x = Math.round(x);
  y = Math.round(y);
  for (let i = 0; i < text.length; i++) {
    const rows = glyphRows(text[i]);
    const left = x + i * ADVANCE * scale;
    for (let row = 0; row < GLYPH_ROWS; row++) {
      for (let col = 0; col < GLYPH_WIDTH; col++) {
        if (((rows[row] >> (GLYPH_WIDTH - 1 - col)) & 1) === 0) continue;
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) setPixel(image, left + col * scale + dx, y + row * scale + dy, color);
        }
      }
    }
  }
}

export function setPixel(image: RgbImage, x: number, y: number, color: Rgb): void {
  if (x < 0 || y < 0 || x >= image.width || y >= image.height) return;
  image.data.set(color, 3 * (y * image.width + x));
}
