/**
 * The figures of one `npm run bench:engine`: percentiles, the targets judged PASS/FAIL, a table on
 * stdout and the same as JSON in bench/results/engine-<timestamp>.json.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PROJECT_ROOT } from "../src/paths.js";

export interface Distribution {
  n: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  min: number;
}

/** Nearest-rank percentiles of `values` (ms); all zero when empty. */
export function distribution(values: readonly number[]): Distribution {
  if (values.length === 0) return { n: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0, min: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
  return { n: sorted.length, mean: sorted.reduce((s, v) => s + v, 0) / sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted.at(-1)!, min: sorted[0]! };
}

export const fmtDist = (d: Distribution, digits = 0): string =>
  `p50 ${d.p50.toFixed(digits)}  p90 ${d.p90.toFixed(digits)}  p99 ${d.p99.toFixed(digits)}  max ${d.max.toFixed(digits)}  (n=${d.n})`;

export interface Verdict {
  target: string;
  verdict: "PASS" | "FAIL" | "n/a";
  measured: string;
}

export const judge = (target: string, ok: boolean | undefined, measured: string): Verdict => ({ target, verdict: ok === undefined ? "n/a" : ok ? "PASS" : "FAIL", measured });

/** Columns before `leftColumns` are aligned left, the rest right. */
export function table(rows: readonly string[][], leftColumns: number): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const align = (cell: string, column: number) => (column < leftColumns ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!));
  return rows.map((row) => row.map(align).join("  ").trimEnd()).join("\n");
}

/** Writes `document` to bench/results/engine-<timestamp>.json; returns the path. */
export async function writeEngineResults(document: unknown): Promise<string> {
  const dir = join(PROJECT_ROOT, "bench", "results");
  await mkdir(dir, { recursive: true });
  const file = join(dir, `engine-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  await writeFile(file, JSON.stringify(document, null, 2) + "\n");
  return file;
}
