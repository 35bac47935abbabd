// The hand-made bitmap font: every printable glyph draws inside its cell, space draws nothing, no two glyphs alike.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  drawText,
  glyphRows,
  textHeight,
  textWidth,
  GLYPH_ROWS,
  GLYPH_WIDTH,
  type RgbImage,
} from "../../src/plot/font.ts";

const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i));

/** Bounding box [left, top, right, bottom] of non-white pixels, or null. */
function inkBox(text: string, scale: number, x = 3, y = 4): number[] | null {
  const image: RgbImage = { width: 200, height: 40, data: new Uint8Array(200 * 40 * 3).fill(255) };
  drawText(image, text, x, y, scale, [0, 0, 0]);
  let box: number[] | null = null;
  for (let py = 0; py < image.height; py++) {
    for (let px = 0; px < image.width; px++) {
      if (image.data[3 * (py * image.width + px)] === 255) continue;
      box = box
        ? [Math.min(box[0], px), Math.min(box[1], py), Math.max(box[2], px), Math.max(box[3], py)]
        : [px, py, px, py];
    }
  }
  return box;
}

test("every printable glyph 33..126 draws something inside its 5x9 cell; space draws nothing", () => {
  assert.is(inkBox(" ", 1), null);
  for (const ch of PRINTABLE.slice(1)) {
    const box = inkBox(ch, 1);
    assert.ok(box, `glyph ${JSON.stringify(ch)} drew nothing`);
    assert.ok(
      box![0] >= 3 && box![2] < 3 + GLYPH_WIDTH && box![1] >= 4 && box![3] < 4 + GLYPH_ROWS,
      `glyph ${ch} leaves its cell`,
    );
  }
});

test("no two printable glyphs share a bitmap (catches encoding typos)", () => {
  const seen = new Map<string, string>();
  for (const ch of PRINTABLE) {
    const key = glyphRows(ch).join(",");
    assert.is(seen.get(key), undefined, `${JSON.stringify(ch)} looks like ${JSON.stringify(seen.get(key))}`);
    seen.set(key, ch);
  }
});

test("only g j p q y , ; _ reach below the baseline", () => {
  for (const ch of PRINTABLE) {
    const rows = glyphRows(ch);
    assert.is(rows.length, GLYPH_ROWS);
    assert.is(rows[7] + rows[8] > 0, "gjpqy,;_".includes(ch), `descender of ${JSON.stringify(ch)}`);
  }
});

test("characters outside 32..126 draw as '?'", () => {
  assert.equal(glyphRows("é"), glyphRows("?"));
  assert.equal(glyphRows("\n"), glyphRows("?"));
});

test("textWidth / textHeight match what is drawn at scales 1, 2, 3", () => {
  assert.is(textWidth(""), 0);
  assert.is(textWidth("abc", 2), 34); // (3 * 6 - 1) * 2
  for (const scale of [1, 2, 3]) {
    assert.is(textHeight(scale), 9 * scale);
    // H and M fill their first and last columns and rows 0..6; g reaches row 8
    const box = inkBox("HMg", scale)!;
    assert.equal(box, [3, 4, 3 + textWidth("HMg", scale) - 1, 4 + textHeight(scale) - 1]);
  }
});

test("text partly outside the image is clipped, not wrapped or thrown", () => {
  const box = inkBox("Hello", 2, -20, 30);
  assert.ok(box && box[0] === 0 && box[3] <= 39);
});

test.run();
