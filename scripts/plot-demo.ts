// Renders a demo accuracy-vs-MACs chart to out/plot-demo.png (made-up numbers, for eyeballing the renderer).
//   node --import tsx scripts/plot-demo.ts
import { mkdirSync, writeFileSync } from "node:fs";
import { lineChart, type Series } from "../src/plot/chart.ts";
import { encodePng } from "../src/image/encode.ts";

// keep ratio sweep -> (GMACs, top-1 %); a made-up saturating curve per method
const curve = (fullMacs: number, fullAcc: number, loss: number) =>
  [1, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4].map((keep) => ({
    x: Number((fullMacs * (0.08 + 0.92 * keep)).toFixed(3)),
    y: Number((fullAcc - loss * (1 - keep) ** 2 * 10).toFixed(2)),
  }));
const series: Series[] = [
  { name: "DeiT-S + PaPr", points: curve(4.6, 79.8, 2.1) },
  { name: "DeiT-S + ToMe", points: curve(4.6, 79.8, 3.4) },
  { name: "DeiT-S + random", points: curve(4.6, 79.8, 9), dashed: true },
  { name: "DeiT-T + PaPr", points: curve(1.3, 72.2, 2.6) },
  { name: "DeiT-T + ToMe", points: curve(1.3, 72.2, 4.1) },
  { name: "DeiT-T + random", points: curve(1.3, 72.2, 11), dashed: true },
];
const front = series
  .flatMap((s) => s.points)
  .filter((p, _, all) => !all.some((q) => q.x <= p.x && q.y >= p.y && (q.x < p.x || q.y > p.y)));

const chart = lineChart(series, {
  title: "ImageNet-1k top-1 vs. compute (demo data)",
  xLabel: "GMACs per image",
  yLabel: "top-1 accuracy (%)",
  highlight: front,
  legend: (process.argv[2] as "right" | "bottom-right" | "top-left" | undefined) ?? "right",
});
mkdirSync("out", { recursive: true });
writeFileSync("out/plot-demo.png", encodePng(chart.data, chart.width, chart.height));
console.log(`wrote out/plot-demo.png (${chart.width}x${chart.height}, ${front.length} Pareto points ringed)`);
