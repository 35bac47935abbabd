// lineChart: pixels land where the data says, nothing leaves the plot area, ticks are 1-2-5 steps, bad input errors.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  chartLayout,
  formatTick,
  lineChart,
  niceStep,
  niceTicks,
  PALETTE,
  type ChartOptions,
  type Series,
} from "../../src/plot/chart.ts";
import { encodePng } from "../../src/image/encode.ts";

const RED: [number, number, number] = [255, 0, 0];
const BASE: ChartOptions = {
  width: 400,
  height: 300,
  title: "t",
  xLabel: "x",
  yLabel: "y",
  xRange: [0, 1],
  yRange: [0, 1],
};
const flat = (y: number, extra: Partial<Series> = {}): Series => ({
  name: "flat",
  points: [
    { x: 0, y },
    { x: 1, y },
  ],
  color: RED,
  marker: "none",
  ...extra,
});

const rgb = (img: { width: number; data: Uint8Array }, x: number, y: number) =>
  Array.from(img.data.subarray(3 * (y * img.width + x), 3 * (y * img.width + x) + 3));
/** Every pixel of the given colour as [x, y]. */
function pixelsOf(img: { width: number; height: number; data: Uint8Array }, color: number[]): number[][] {
  const found: number[][] = [];
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++) {
      if (rgb(img, x, y).every((v, i) => v === color[i])) found.push([x, y]);
    }
  return found;
}
const inside = (r: { left: number; top: number; right: number; bottom: number }, [x, y]: number[]) =>
  x >= r.left && x <= r.right && y >= r.top && y <= r.bottom;

test("niceTicks: worked examples, 1-2-5 steps, no float noise", () => {
  assert.equal(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.equal(niceTicks(0, 100), [0, 20, 40, 60, 80, 100]);
  assert.equal(niceTicks(-3, 7), [-2, 0, 2, 4, 6]);
  assert.equal(niceTicks(0.7, 0.83), [0.7, 0.75, 0.8]);
  assert.equal(niceTicks(0.1, 0.3, 2), [0.1, 0.2, 0.3]);
  assert.equal(niceTicks(1e9, 5e9), [1e9, 2e9, 3e9, 4e9, 5e9]);
  assert.equal(niceTicks(0, 0.7, 7), [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7], "0.3 not 0.30000000000000004");
  assert.equal(niceTicks(-1, 1), [-1, -0.5, 0, 0.5, 1]);
  assert.ok(!Object.is(niceTicks(-1, 1)[2], -0), "zero tick is +0");
});

test("niceTicks properties over 500 seeded random ranges", () => {
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < 500; i++) {
    const min = (rand() - 0.5) * 10 ** Math.floor(rand() * 12 - 6);
    const max = min + rand() * 10 ** Math.floor(rand() * 12 - 6) + 1e-9;
    const maxTicks = 2 + Math.floor(rand() * 9);
    const step = niceStep(max - min, maxTicks),
      ticks = niceTicks(min, max, maxTicks);
    const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
    assert.ok(
      [1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-9),
      `step ${step} is not 1-2-5`,
    );
    // step >= span / maxTicks, and rounding up to 1-2-5 grows it by < 2.5x (so maxTicks >= 3 gives >= 1 tick)
    assert.ok(
      ticks.length >= Math.floor(maxTicks / 2.5) && ticks.length <= maxTicks + 1,
      `${ticks.length} ticks for [${min}, ${max}] / ${maxTicks}`,
    );
    const eps = 1e-9 * step;
    ticks.forEach((t, k) => {
      assert.ok(t >= min - eps && t <= max + eps, `tick ${t} outside [${min}, ${max}]`);
      // even spacing up to a few float64 ulps of the tick values themselves (|t| can be 1e10 x step)
      if (k > 0)
        assert.ok(Math.abs(t - ticks[k - 1] - step) < 1e-9 * step + 1e-15 * Math.abs(t), `uneven ticks ${ticks}`);
    });
  }
});

test("formatTick: decimals follow the step; exponent form for huge values and tiny steps", () => {
  assert.is(formatTick(0.30000000000000004, 0.1), "0.3");
  assert.is(formatTick(0, 0.05), "0.00");
  assert.is(formatTick(75, 5), "75");
  assert.is(formatTick(1.5e9, 5e8), "1.5e9");
  assert.is(formatTick(2e9, 1e9), "2e9");
  assert.is(formatTick(-2.5e-5, 5e-6), "-2.5e-5");
});

test("a horizontal series at y = 0.5 paints its row across the plot, 2 px thick, and nothing else", () => {
  const options: ChartOptions = { ...BASE, legend: "top-left" };
  const img = lineChart([flat(0.5)], options);
  const { plot, legend } = chartLayout([flat(0.5)], options);
  const row = plot.bottom - 0.5 * (plot.bottom - plot.top);
  for (let x = plot.left + 1; x < plot.right; x++)
    assert.equal(rgb(img, x, Math.round(row)), RED, `pixel (${x}, ${row})`);
  const red = pixelsOf(img, RED),
    lineRed = red.filter((p) => !inside(legend, p));
  assert.ok(
    red.some((p) => inside(legend, p)),
    "legend swatch is red",
  );
  assert.ok(
    lineRed.every((p) => inside(plot, p) && Math.abs(p[1] - row) <= 1.5),
    "red pixel off the line",
  );
  assert.is(new Set(lineRed.map((p) => p[1])).size, 2, "line is 2 px thick");
});

test("clipping: lines, markers and far-away points never paint outside the plot area", () => {
  const series: Series[] = [
    {
      name: "wild",
      color: RED,
      marker: "square",
      points: [
        { x: -5, y: -10 },
        { x: 0.5, y: 2 },
        { x: 5, y: 10 },
        { x: 1e12, y: 0.3 },
        { x: 0, y: 0 },
        { x: 1, y: 1 },
      ],
    },
  ];
  const options: ChartOptions = { ...BASE, legend: "right" };
  const { plot, legend } = chartLayout(series, options);
  const red = pixelsOf(lineChart(series, options), RED);
  assert.ok(red.filter((p) => inside(plot, p)).length > 100, "the diagonal is drawn");
  assert.ok(
    red.every((p) => inside(plot, p) || inside(legend, p)),
    "red pixel outside plot and legend",
  );
});

test("points are sorted by x before joining; output is deterministic", () => {
  const points = [0.9, 0.1, 0.5, 0.3, 0.7].map((x) => ({ x, y: x * x }));
  const sorted = [...points].sort((a, b) => a.x - b.x);
  const a = lineChart([{ name: "s", points }], BASE),
    b = lineChart([{ name: "s", points: sorted }], BASE);
  assert.equal(a.data, b.data);
  assert.equal(lineChart([{ name: "s", points }], BASE).data, a.data);
  assert.equal(encodePng(a.data, a.width, a.height), encodePng(b.data, b.width, b.height));
});

test("dashed lines alternate paint and gaps (~9 on, 6 off)", () => {
  const options: ChartOptions = { ...BASE, legend: "top-left" };
  const img = lineChart([flat(0.5, { dashed: true })], options),
    { plot } = chartLayout([flat(0.5)], options);
  const row = Math.round(plot.bottom - 0.5 * (plot.bottom - plot.top));
  let on = 0,
    runs = 0;
  for (let x = plot.left + 1; x < plot.right; x++) {
    const isRed = rgb(img, x, row).join() === RED.join();
    on += isRed ? 1 : 0;
    if (isRed && rgb(img, x - 1, row).join() !== RED.join()) runs++;
  }
  const fraction = on / (plot.right - plot.left - 1);
  assert.ok(fraction > 0.5 && fraction < 0.7 && runs > 10, `dash fraction ${fraction}, ${runs} dashes`);
});

test("highlight draws a hollow dark ring on top of the point", () => {
  const options: ChartOptions = { ...BASE, highlight: [{ x: 0.45, y: 0.45 }] };
  const series: Series[] = [{ name: "p", points: [{ x: 0.45, y: 0.45 }], color: RED, marker: "circle" }];
  const img = lineChart(series, options),
    { plot } = chartLayout(series, options);
  const cx = Math.round(plot.left + 0.45 * (plot.right - plot.left)),
    cy = Math.round(plot.bottom - 0.45 * (plot.bottom - plot.top));
  assert.equal(rgb(img, cx, cy), RED, "centre keeps the marker colour");
  for (const [dx, dy] of [
    [6, 0],
    [-6, 0],
    [0, 6],
    [0, -6],
  ])
    assert.equal(rgb(img, cx + dx, cy + dy), [0, 0, 0]);
});

test("default colours: 12 distinct palette entries, assigned in order", () => {
  assert.is(new Set(PALETTE.map((c) => c.join())).size, 12);
  const series: Series[] = [0.2, 0.5, 0.8].map((y) => ({ ...flat(y), color: undefined }));
  const options: ChartOptions = { ...BASE, legend: "right" };
  const img = lineChart(series, options),
    { plot } = chartLayout(series, options);
  [0.2, 0.5, 0.8].forEach((y, i) =>
    assert.equal(rgb(img, plot.left + 7, Math.round(plot.bottom - y * (plot.bottom - plot.top))), PALETTE[i]),
  );
});

test("legend placements and title: where they are meant to be", () => {
  for (const legend of ["right", "top-left", "bottom-right"] as const) {
    const { plot, legend: box } = chartLayout([flat(0.5)], { ...BASE, legend });
    const inPlot = inside(plot, [box.left, box.top]) && inside(plot, [box.right, box.bottom]);
    assert.is(inPlot, legend !== "right", legend);
    if (legend === "right") assert.ok(box.left > plot.right);
    if (legend === "top-left") assert.ok(box.left - plot.left < 20 && box.top - plot.top < 20);
    if (legend === "bottom-right") assert.ok(plot.right - box.right < 20 && plot.bottom - box.bottom < 20);
  }
  const titleInk = (title: string) => {
    const img = lineChart([flat(0.5)], { ...BASE, title });
    return pixelsOf(img, [0, 0, 0]).filter(([, y]) => y < 20).length;
  };
  assert.is(titleInk(""), 0);
  assert.ok(titleInk("Title") > 20);
  const img = lineChart([flat(0.5)], { title: "t", xLabel: "x", yLabel: "y" });
  assert.equal([img.width, img.height, img.data.length], [900, 600, 900 * 600 * 3]);
});

test("bad input: clear errors", () => {
  assert.throws(() => lineChart([], BASE), /lineChart: no series to plot/);
  assert.throws(
    () =>
      lineChart(
        [
          {
            name: "a",
            points: [
              { x: 0, y: 0 },
              { x: NaN, y: 1 },
            ],
          },
        ],
        BASE,
      ),
    /series "a" point 1 is not finite: \(NaN, 1\)/,
  );
  assert.throws(
    () => lineChart([flat(0.5)], { ...BASE, xRange: [1, 1] }),
    /xRange must be two finite numbers with min < max, got \[1, 1\]/,
  );
  assert.throws(() => lineChart([flat(0.5)], { ...BASE, yRange: [2, 1] }), /yRange must be/);
  assert.throws(
    () => lineChart([{ name: "e", points: [] }], { title: "", xLabel: "", yLabel: "" }),
    /no points to derive xRange/,
  );
  assert.throws(() => lineChart([flat(0.5)], { ...BASE, width: 50 }), /at least 160x120, got 50x300/);
  assert.throws(
    () => lineChart([flat(0.5)], { ...BASE, highlight: [{ x: Infinity, y: 0 }] }),
    /highlight point 0 is not finite/,
  );
  assert.throws(() => lineChart([flat(0.5, { color: [300, 0, 0] })], BASE), /color must be 3 integers 0\.\.255/);
  assert.throws(() => niceTicks(1, 1), /min < max/);
});

test("handled sensibly: a single point gets a padded range; a series without points only shows in the legend", () => {
  const series: Series[] = [{ name: "one", points: [{ x: 3, y: 3 }], color: RED, marker: "square" }];
  const options: ChartOptions = { ...BASE, xRange: undefined, yRange: undefined };
  const { plot, xRange, yRange } = chartLayout(series, options);
  assert.ok(xRange[0] < 3 && xRange[1] > 3 && yRange[0] < 3 && yRange[1] > 3);
  assert.equal(
    rgb(lineChart(series, options), Math.round((plot.left + plot.right) / 2), Math.round((plot.top + plot.bottom) / 2)),
    RED,
  );
  const empty = lineChart([{ name: "none yet", points: [], color: RED }], { ...BASE, legend: "right" });
  const { plot: p2 } = chartLayout([{ name: "none yet", points: [] }], { ...BASE, legend: "right" });
  const red = pixelsOf(empty, RED);
  assert.ok(red.length > 0 && red.every((p) => !inside(p2, p)));
});

test.run();
