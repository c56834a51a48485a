/**
 * The figures of one `npm run bench:scim`: a table on stdout, the targets judged PASS/FAIL, and
 * the same as JSON in bench/results/scim-<timestamp>.json.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PROJECT_ROOT } from "../src/paths.js";
import type { Rss } from "./children.js";
import type { Measurement, ScenarioName, Server } from "./load.js";

export interface ServerRun {
  server: Server["name"];
  measurements: Measurement[];
  /** Over the measured scenarios (sampled peak) and the process's life (high-water mark). */
  rss: Rss;
  /** What the hand-made checks before the runs found wrong; empty when the server behaved. */
  problems: string[];
}

export interface TargetResult {
  target: string;
  verdict: "PASS" | "FAIL" | "n/a";
  detail: string;
}

/** The bridge must keep up with the baseline on PATCH and beat it by far on filtered GET. */
const SCENARIO_TARGETS: Record<ScenarioName, { minRatio: number; maxP99Ms: number }> = {
  "patch-active": { minRatio: 1.0, maxP99Ms: 25 },
  "filter-username": { minRatio: 20, maxP99Ms: 10 },
};
const MAX_BRIDGE_RSS_MB = 400;

/** A run whose figures include failed requests: its req/s does not measure the real work. */
export const isFlagged = (m: Measurement): boolean => m.non2xx > 0 || m.errors > 0 || m.timeouts > 0;

const find = (run: ServerRun | undefined, scenario: ScenarioName) => run?.measurements.find((m) => m.scenario === scenario);

export function ratio(runs: readonly ServerRun[], scenario: ScenarioName): number | undefined {
  const bridge = find(runs.find((r) => r.server === "bridge"), scenario);
  const baseline = find(runs.find((r) => r.server === "baseline"), scenario);
  return bridge && baseline && baseline.requestsPerSecond > 0 ? bridge.requestsPerSecond / baseline.requestsPerSecond : undefined;
}

export function judgeTargets(runs: readonly ServerRun[]): TargetResult[] {
  const bridgeRun = runs.find((r) => r.server === "bridge");
  const results: TargetResult[] = [];
  for (const [scenario, { minRatio, maxP99Ms }] of Object.entries(SCENARIO_TARGETS) as [ScenarioName, (typeof SCENARIO_TARGETS)[ScenarioName]][]) {
    const bridge = find(bridgeRun, scenario);
    const r = ratio(runs, scenario);
    const clean = bridge !== undefined && !isFlagged(bridge) && bridgeRun!.problems.length === 0;
    const unclean = clean ? "" : " (bridge run had errors)";
    results.push(
      r === undefined
        ? { target: `${scenario}: ratio ≥ ${minRatio}`, verdict: "n/a", detail: "needs both servers" }
        : { target: `${scenario}: ratio ≥ ${minRatio}`, verdict: clean && r >= minRatio ? "PASS" : "FAIL", detail: `${r.toFixed(2)}${unclean}` },
      bridge === undefined
        ? { target: `${scenario}: bridge p99 ≤ ${maxP99Ms} ms`, verdict: "n/a", detail: "bridge not measured" }
        : { target: `${scenario}: bridge p99 ≤ ${maxP99Ms} ms`, verdict: clean && bridge.latencyMs.p99 <= maxP99Ms ? "PASS" : "FAIL", detail: `${bridge.latencyMs.p99} ms${unclean}` },
    );
  }
  results.push(
    bridgeRun === undefined
      ? { target: `bridge RSS ≤ ${MAX_BRIDGE_RSS_MB} MB`, verdict: "n/a", detail: "bridge not measured" }
      : {
          target: `bridge RSS ≤ ${MAX_BRIDGE_RSS_MB} MB`,
          verdict: bridgeRun.rss.highWaterMb <= MAX_BRIDGE_RSS_MB ? "PASS" : "FAIL",
          detail: `VmHWM ${bridgeRun.rss.highWaterMb.toFixed(0)} MB`,
        },
  );
  return results;
}

/** Columns before `leftColumns` are aligned left, the rest (figures) right. */
const table = (rows: string[][], leftColumns: number): string => {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const align = (cell: string, column: number) => (column < leftColumns ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!));
  return rows.map((row) => row.map(align).join("  ").trimEnd()).join("\n");
};

export function printReport(runs: readonly ServerRun[], targets: readonly TargetResult[], setup: string): void {
  const rows = [["server", "scenario", "req/s", "p50 ms", "p99 ms", "max ms", "requests", "non-2xx", "errors", ""]];
  for (const run of runs) {
    for (const m of run.measurements) {
      rows.push([
        run.server, m.scenario, m.requestsPerSecond.toFixed(1), String(m.latencyMs.p50), String(m.latencyMs.p99), String(m.latencyMs.max),
        String(m.requests), String(m.non2xx), String(m.errors), isFlagged(m) ? `!! ERRORS ${JSON.stringify(m.statusCodes)}` : "",
      ]);
    }
  }
  const lines = [`\nSCIM bench: ${setup}\n`, table(rows, 2), ""];
  for (const scenario of Object.keys(SCENARIO_TARGETS) as ScenarioName[]) {
    const r = ratio(runs, scenario);
    if (r !== undefined) lines.push(`ratio bridge/baseline req/s, ${scenario}: ${r.toFixed(2)}`);
  }
  for (const run of runs) {
    lines.push(`${run.server} RSS: peak sampled during runs ${run.rss.sampledPeakMb.toFixed(0)} MB, VmHWM ${run.rss.highWaterMb.toFixed(0)} MB`);
    for (const problem of run.problems) lines.push(`!! ${run.server} check failed: ${problem}`);
  }
  lines.push("", table(targets.map((t) => [t.verdict, t.target, t.detail]), 3), "");
  process.stdout.write(lines.join("\n") + "\n");
}

/** Writes `document` to bench/results/scim-<timestamp>.json; returns the path. */
export async function writeResults(document: unknown): Promise<string> {
  const dir = join(PROJECT_ROOT, "bench", "results");
  await mkdir(dir, { recursive: true });
  const file = join(dir, `scim-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  await writeFile(file, JSON.stringify(document, null, 2) + "\n");
  return file;
}
