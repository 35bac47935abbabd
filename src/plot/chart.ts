// Line charts (e.g. accuracy vs. MACs, one line per method) drawn into RGB pixels; encode with encodePng.
// No Node built-ins. Bad input throws PlotError: an empty series list, a non-finite point, an xRange/yRange that
// is not finite with min < max, a bad colour or marker, an image too small for its labels, or no points at all
// without both ranges. Data whose values are all equal get a padded automatic range.
import { ADVANCE, drawText, setPixel, textHeight, textWidth, type Rgb, type RgbImage } from "./font.ts";

export type Marker = "circle" | "square" | "triangle" | "cross" | "none";
export interface Series {
  name: string;
  points: { x: number; y: number }[];
  color?: [number, number, number];
  dashed?: boolean;
  marker?: Marker;
}
export interface ChartOptions {
  width?: number;
  height?: number;
  title: string;
  xLabel: string;
  yLabel: string;
  xRange?: [number, number];
  yRange?: [number, number];
  highlight?: { x: number; y: number }[];
  legend?: "right" | "bottom-right" | "top-left";
}
export interface Rect {
  left: number;
  top: number;
  right: number;
  bottom: number;
} // inclusive pixel bounds
export interface ChartLayout {
  scale: number; // text scale (1 below 600 px wide, else 2)
  plot: Rect;
  legend: Rect;
  xRange: [number, number];
  yRange: [number, number];
  xTicks: number[];
  yTicks: number[];
}

export class PlotError extends Error {
  constructor(message: string) {
    super(`lineChart: ${message}`);
    this.name = "PlotError";
  }
}

/** Default series colours: Okabe-Ito, then Paul Tol's muted scheme (colour-blind friendly). */
export const PALETTE: Rgb[] = [
  [0, 114, 178],
  [230, 159, 0],
  [0, 158, 115],
  [213, 94, 0],
  [204, 121, 167],
  [86, 180, 233],
  [51, 34, 136],
  [153, 153, 51],
  [136, 34, 85],
  [68, 170, 153],
  [221, 204, 119],
  [102, 102, 102],
];
const DEFAULT_MARKERS: Marker[] = ["circle", "square", "triangle", "cross"];
const WHITE: Rgb = [255, 255, 255],
  INK: Rgb = [0, 0, 0],
  GRID: Rgb = [228, 228, 228],
  FRAME: Rgb = [90, 90, 90];
const DASH = 9,
  GAP = 6;

// ---------- ticks ----------

/** A 1-2-5 x 10^k step giving at most maxTicks intervals over span. */
export function niceStep(span: number, maxTicks = 6): number {
  if (!(span > 0) || !Number.isFinite(span)) throw new PlotError(`tick span must be finite and > 0, got ${span}`);
  const raw = span / maxTicks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const factor = [1, 2, 5, 10].find((f) => raw / magnitude <= f * (1 + 1e-9))!;
  return factor * magnitude;
}

/** Multiples of step inside [min, max], cleaned of float noise (0.30000000000000004 -> 0.3). */
export function ticksWithStep(min: number, max: number, step: number): number[] {
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const ticks: number[] = [];
  for (let k = Math.ceil(min / step - 1e-9); k <= Math.floor(max / step + 1e-9); k++) {
    ticks.push(Number((k * step).toFixed(Math.min(decimals, 100))) || 0); // || 0 turns -0 into 0
  }
  return ticks;
}

export function niceTicks(min: number, max: number, maxTicks = 6): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max) || !(max > min)) {
    throw new PlotError(`tick range must be finite with min < max, got [${min}, ${max}]`);
  }
  return ticksWithStep(min, max, niceStep(max - min, maxTicks));
}

/** Tick label with as many decimals as the step needs; exponent form for huge values or tiny steps. */
export function formatTick(value: number, step: number): string {
  const stepExponent = Math.floor(Math.log10(step) + 1e-9);
  if (Math.abs(value) >= 1e6 || step < 1e-4) {
    if (value === 0) return "0";
    const digits = Math.max(0, Math.floor(Math.log10(Math.abs(value)) + 1e-9) - stepExponent);
    return value.toExponential(Math.min(digits, 20)).replace(/\.?0*e\+?/, "e"); // 1.50e+9 -> 1.5e9
  }
  return (value || 0).toFixed(Math.min(Math.max(0, -stepExponent), 100));
}

// ---------- layout ----------

function autoRange(values: number[], given: [number, number] | undefined, axis: string): [number, number] {
  if (given) {
    const [lo, hi] = given;
    if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(hi > lo)) {
      throw new PlotError(`${axis}Range must be two finite numbers with min < max, got [${lo}, ${hi}]`);
    }
    return [lo, hi];
  }
  if (values.length === 0) throw new PlotError(`no points to derive ${axis}Range from; pass options.${axis}Range`);
  const lo = values.reduce((a, b) => Math.min(a, b)),
    hi = values.reduce((a, b) => Math.max(a, b));
  const pad = lo === hi ? Math.abs(lo) * 0.1 || 1 : (hi - lo) * 0.05; // margins keep edge markers off the frame
  return [Number((lo - pad).toPrecision(12)), Number((hi + pad).toPrecision(12))];
}

function checkInput(series: Series[], options: ChartOptions): void {
  if (!Array.isArray(series) || series.length === 0) throw new PlotError("no series to plot (empty series list)");
  for (const s of series) {
    if (!Array.isArray(s.points)) throw new PlotError(`series "${s.name}" has no points array`);
    s.points.forEach((p, i) => {
      if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) {
        throw new PlotError(`series "${s.name}" point ${i} is not finite: (${p.x}, ${p.y})`);
      }
    });
    if (s.color && (s.color.length !== 3 || s.color.some((c) => !Number.isInteger(c) || c < 0 || c > 255))) {
      throw new PlotError(`series "${s.name}" color must be 3 integers 0..255, got [${s.color}]`);
    }
    if (s.marker && !["circle", "square", "triangle", "cross", "none"].includes(s.marker)) {
      throw new PlotError(`series "${s.name}" has unknown marker "${s.marker}"`);
    }
  }
  (options.highlight ?? []).forEach((p, i) => {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) throw new PlotError(`highlight point ${i} is not finite`);
  });
  const { width = 900, height = 600 } = options;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 160 || height < 120) {
    throw new PlotError(`width and height must be integers of at least 160x120, got ${width}x${height}`);
  }
}

/** Where everything goes; lineChart draws exactly this (tests use it to find the plot area). */
export function chartLayout(series: Series[], options: ChartOptions): ChartLayout {
  checkInput(series, options);
  const { width = 900, height = 600, legend = "right" } = options;
  const scale = width >= 600 ? 2 : 1,
    pad = 6 * scale,
    line = textHeight(scale),
    tick = 3 * scale;
  const points = series.flatMap((s) => s.points);
  const xRange = autoRange(
    points.map((p) => p.x),
    options.xRange,
    "x",
  );
  const yRange = autoRange(
    points.map((p) => p.y),
    options.yRange,
    "y",
  );

  const top = pad + line + 2 * pad + line + pad; // title, y label, gap
  const bottom = height - 1 - (tick + pad + line + pad + line + pad); // tick labels, x label
  const yStep = niceStep(yRange[1] - yRange[0], clamp(Math.floor((bottom - top) / (3.5 * line)), 3, 10));
  const yTicks = ticksWithStep(yRange[0], yRange[1], yStep);
  const left = pad + Math.max(...yTicks.map((t) => textWidth(formatTick(t, yStep), scale)), 0) + pad + tick;

  const swatch = (7 * ADVANCE * scale) / 2;
  const legendWidth = 3 * pad + swatch + Math.max(...series.map((s) => textWidth(s.name, scale)));
  const legendHeight = pad + series.length * (line + pad);
  const right = width - 1 - (legend === "right" ? legendWidth + 3 * pad : 4 * ADVANCE * scale);
  if (right - left < 40 || bottom - top < 40) throw new PlotError(`${width}x${height} is too small for the labels`);
  const xStep = niceStep(xRange[1] - xRange[0], clamp(Math.floor((right - left) / (8 * ADVANCE * scale)), 3, 10));
  const xTicks = ticksWithStep(xRange[0], xRange[1], xStep);

  const legendLeft =
    legend === "right" ? right + 2 * pad : legend === "top-left" ? left + pad : right - pad - legendWidth;
  const legendTop = legend === "bottom-right" ? bottom - pad - legendHeight : top + pad * (legend === "right" ? 0 : 1);
  return {
    scale,
    plot: { left, top, right, bottom },
    xRange,
    yRange,
    xTicks,
    yTicks,
    legend: { left: legendLeft, top: legendTop, right: legendLeft + legendWidth, bottom: legendTop + legendHeight },
  };
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

// ---------- drawing ----------

interface Canvas extends RgbImage {
  clip: Rect;
}
interface Pen {
  color: Rgb;
  dashed: boolean;
  travelled: number;
} // travelled: dash phase, carried across segments

function paint(c: Canvas, x: number, y: number, color: Rgb): void {
  if (x >= c.clip.left && x <= c.clip.right && y >= c.clip.top && y <= c.clip.bottom) setPixel(c, x, y, color);
}

function fillRect(c: Canvas, r: Rect, color: Rgb): void {
  for (let y = r.top; y <= r.bottom; y++) for (let x = r.left; x <= r.right; x++) paint(c, x, y, color);
}

function strokeRect(c: Canvas, r: Rect, color: Rgb): void {
  fillRect(c, { ...r, bottom: r.top }, color);
  fillRect(c, { ...r, top: r.bottom }, color);
  fillRect(c, { ...r, right: r.left }, color);
  fillRect(c, { ...r, left: r.right }, color);
}

/** Liang-Barsky: the part of segment a-b inside r (grown by 2 px), or null. Keeps Bresenham loops short. */
function clipSegment(a: number[], b: number[], r: Rect): number[][] | null {
  const dx = b[0] - a[0],
    dy = b[1] - a[1];
  let t0 = 0,
    t1 = 1;
  for (const [p, q] of [
    [-dx, a[0] - r.left + 2],
    [dx, r.right + 2 - a[0]],
    [-dy, a[1] - r.top + 2],
    [dy, r.bottom + 2 - a[1]],
  ]) {
    if (p === 0) {
      if (q < 0) return null;
      continue;
    }
    const t = q / p;
    if (p < 0) t0 = Math.max(t0, t);
    else t1 = Math.min(t1, t);
    if (t0 > t1) return null;
  }
  return [
    [a[0] + t0 * dx, a[1] + t0 * dy],
    [a[0] + t1 * dx, a[1] + t1 * dy],
  ];
}

/** 2-px Bresenham line (thickened across its major axis), dashed if the pen says so. */
function drawLine(c: Canvas, from: number[], to: number[], pen: Pen): void {
  const clipped = clipSegment(from, to, c.clip);
  if (!clipped) return;
  let [x, y] = clipped[0].map(Math.round);
  const [x1, y1] = clipped[1].map(Math.round);
  const dx = Math.abs(x1 - x),
    dy = Math.abs(y1 - y),
    sx = x < x1 ? 1 : -1,
    sy = y < y1 ? 1 : -1,
    steep = dy > dx;
  let err = dx - dy;
  for (;;) {
    if (!pen.dashed || pen.travelled % (DASH + GAP) < DASH) {
      paint(c, x, y, pen.color);
      paint(c, x + (steep ? 1 : 0), y + (steep ? 0 : 1), pen.color);
    }
    if (x === x1 && y === y1) break;
    const e2 = 2 * err,
      stepX = e2 > -dy,
      stepY = e2 < dx;
    if (stepX) {
      err -= dy;
      x += sx;
    }
    if (stepY) {
      err += dx;
      y += sy;
    }
    pen.travelled += stepX && stepY ? Math.SQRT2 : 1;
  }
}

function drawMarker(c: Canvas, cx: number, cy: number, kind: Marker, r: number, color: Rgb): void {
  cx = Math.round(cx);
  cy = Math.round(cy);
  if (kind === "cross") {
    const pen = { color, dashed: false, travelled: 0 };
    drawLine(c, [cx - r, cy - r], [cx + r, cy + r], pen);
    drawLine(c, [cx - r, cy + r], [cx + r, cy - r], pen);
    return;
  }
  for (let dy = -r; dy <= r; dy++) {
    for (let dx = -r; dx <= r; dx++) {
      const inside =
        kind === "square"
          ? Math.max(Math.abs(dx), Math.abs(dy)) <= r - 1
          : kind === "triangle"
            ? 2 * Math.abs(dx) <= dy + r
            : kind === "circle"
              ? dx * dx + dy * dy <= r * r + r
              : false;
      if (inside) paint(c, cx + dx, cy + dy, color);
    }
  }
}

function drawRing(c: Canvas, cx: number, cy: number, radius: number, color: Rgb): void {
  cx = Math.round(cx);
  cy = Math.round(cy);
  for (let dy = -radius; dy <= radius; dy++) {
    for (let dx = -radius; dx <= radius; dx++) {
      const d2 = dx * dx + dy * dy;
      if (d2 <= radius * radius + radius && d2 > (radius - 2) * (radius - 2) + radius - 2)
        paint(c, cx + dx, cy + dy, color);
    }
  }
}

/** Renders the chart; returns RGB pixels (pass to encodePng(data, width, height)). */
export function lineChart(
  series: Series[],
  options: ChartOptions,
): { width: number; height: number; data: Uint8Array } {
  const layout = chartLayout(series, options);
  const { scale, plot, legend, xRange, yRange, xTicks, yTicks } = layout;
  const { width = 900, height = 600 } = options;
  const whole: Rect = { left: 0, top: 0, right: width - 1, bottom: height - 1 };
  const c: Canvas = { width, height, data: new Uint8Array(width * height * 3), clip: whole };
  fillRect(c, whole, WHITE);
  const px = (x: number) => plot.left + ((x - xRange[0]) / (xRange[1] - xRange[0])) * (plot.right - plot.left);
  const py = (y: number) => plot.bottom - ((y - yRange[0]) / (yRange[1] - yRange[0])) * (plot.bottom - plot.top);
  const line = textHeight(scale),
    pad = 6 * scale,
    tick = 3 * scale,
    markerR = 2 * scale + 1,
    capMid = 3.5 * scale;
  const styles = series.map((s, i) => ({
    color: (s.color ?? PALETTE[i % PALETTE.length]) as Rgb,
    dashed: s.dashed ?? false,
    marker: s.marker ?? DEFAULT_MARKERS[i % DEFAULT_MARKERS.length],
  }));

  for (const t of xTicks) fillRect(c, { ...plot, left: Math.round(px(t)), right: Math.round(px(t)) }, GRID);
  for (const t of yTicks) fillRect(c, { ...plot, top: Math.round(py(t)), bottom: Math.round(py(t)) }, GRID);

  c.clip = plot; // series and highlights stay inside the plot area
  series.forEach((s, i) => {
    const pts = [...s.points].sort((a, b) => a.x - b.x).map((p) => [px(p.x), py(p.y)]); // stable sort by x
    const pen: Pen = { color: styles[i].color, dashed: styles[i].dashed, travelled: 0 };
    for (let k = 1; k < pts.length; k++) drawLine(c, pts[k - 1], pts[k], pen);
    for (const [x, y] of pts) drawMarker(c, x, y, styles[i].marker, markerR, styles[i].color);
  });
  for (const p of options.highlight ?? []) drawRing(c, px(p.x), py(p.y), markerR + 4, INK);

  c.clip = whole;
  strokeRect(c, plot, FRAME);
  const xStep = xTicks.length > 1 ? xTicks[1] - xTicks[0] : xRange[1] - xRange[0];
  const yStep = yTicks.length > 1 ? yTicks[1] - yTicks[0] : yRange[1] - yRange[0];
  for (const t of xTicks) {
    const x = Math.round(px(t)),
      label = formatTick(t, xStep);
    fillRect(c, { left: x, right: x, top: plot.bottom, bottom: plot.bottom + tick }, FRAME);
    drawText(c, label, x - Math.floor(textWidth(label, scale) / 2), plot.bottom + tick + pad, scale, INK);
  }
  for (const t of yTicks) {
    const y = Math.round(py(t)),
      label = formatTick(t, yStep);
    fillRect(c, { left: plot.left - tick, right: plot.left, top: y, bottom: y }, FRAME);
    drawText(c, label, plot.left - tick - pad - textWidth(label, scale), Math.round(y - capMid), scale, INK);
  }

  fillRect(c, legend, WHITE);
  strokeRect(c, legend, [170, 170, 170]);
  series.forEach((s, i) => {
    const top = legend.top + pad + i * (line + pad),
      mid = top + Math.round(capMid);
    const x0 = legend.left + pad,
      x1 = x0 + (7 * ADVANCE * scale) / 2;
    drawLine(c, [x0, mid], [x1, mid], { color: styles[i].color, dashed: styles[i].dashed, travelled: 0 });
    drawMarker(c, (x0 + x1) / 2, mid, styles[i].marker, markerR, styles[i].color);
    drawText(c, s.name, x1 + pad, top, scale, INK);
  });

  drawText(c, options.title, Math.round((width - textWidth(options.title, scale)) / 2), pad, scale, INK);
  drawText(c, options.title, Math.round((width - textWidth(options.title, scale)) / 2) + 1, pad, scale, INK); // bold
  drawText(
    c,
    options.yLabel,
    Math.max(pad, plot.left - textWidth(options.yLabel, scale) / 2),
    plot.top - pad - line,
    scale,
    INK,
  );
  const xLabelLeft = Math.round((plot.left + plot.right - textWidth(options.xLabel, scale)) / 2);
  drawText(c, options.xLabel, xLabelLeft, plot.bottom + tick + 2 * pad + line, scale, INK);
  return { width, height, data: c.data };
}
