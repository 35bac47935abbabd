// Copies docs/eval/eval.md (written by `npm run eval`) into README.md between the markers
// <!-- eval:begin --> and <!-- eval:end -->, so the README's table is exactly what the eval printed.
import { readFileSync, writeFileSync } from "node:fs";

const BEGIN = "<!-- eval:begin -->";
const END = "<!-- eval:end -->";
const readme = readFileSync("README.md", "utf8");
const table = readFileSync("docs/eval/eval.md", "utf8").trimEnd();
const start = readme.indexOf(BEGIN);
const end = readme.indexOf(END);
if (start < 0 || end < start) throw new Error(`README.md: markers ${BEGIN} ... ${END} not found`);
writeFileSync("README.md", readme.slice(0, start + BEGIN.length) + "\n" + table + "\n" + readme.slice(end));
console.log("README.md: eval table replaced from docs/eval/eval.md");
