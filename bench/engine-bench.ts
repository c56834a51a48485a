/**
 * `npm run bench:engine`: the deprovisioning engine end to end — SCIM PATCH active=false in, the
 * fake-target connector out over HTTP to the fake target (its own process), the bridge on embedded
 * PGlite (its own process) — with the two figures of the issue:
 *
 *   (a) time from the SCIM response to `verified` for an instant target (honest, no rate limit),
 *       p50 and p99 over ENGINE_BENCH_DEACTIVATIONS_A deactivations sent at a steady rate;
 *   (b) ENGINE_BENCH_DEACTIVATIONS_B deactivations × ENGINE_BENCH_TARGETS_B targets each limited to
 *       ENGINE_BENCH_LIMIT_B requests/s: total time over the floor the limits allow, the share of
 *       calls answered 429, and the bridge's peak RSS.
 *
 * The floor of (b) is, over the targets, the most requests one target needed (those the fake target
 * answered other than 429, counted by it) over its limit; total time runs from the first PATCH
 * sent to the last task verified.
 *
 * t0 of a deactivation is when its PATCH response arrived here; t1 is its task's verified_at,
 * written by the bridge with the same machine clock, read from the data directory after the
 * bridge stopped. Seeding (bridge users straight through storage, target users through the
 * control API) happens before any clock starts.
 *
 * Env (all optional): ENGINE_BENCH_ONLY=a|b; ENGINE_BENCH_DEACTIVATIONS_A (Default: 1000),
 * ENGINE_BENCH_RATE_A PATCH/s (Default: 50), ENGINE_BENCH_WARMUP_A unmeasured deactivations first,
 * awaited before the clock starts (Default: 200), ENGINE_BENCH_TARGETS_A (Default: 1);
 * ENGINE_BENCH_DEACTIVATIONS_B (Default: 10000), ENGINE_BENCH_TARGETS_B (Default: 3),
 * ENGINE_BENCH_LIMIT_B req/s per target (Default: 200),
 * ENGINE_BENCH_CLIENTS concurrent PATCH clients in (b), and the most in flight in (a) (Default: 10),
 * ENGINE_BENCH_MAX_CONCURRENCY the targets' policy.maxConcurrency (Default: 8),
 * ENGINE_BENCH_TIMEOUT_S per scenario (Default: 1200). The bridge's own knobs pass through:
 * WORKER_CONCURRENCY (bench default: targets × maxConcurrency), TASK_LEASE_MS,
 * WORKER_POLL_INTERVAL_MS, PROBE_BASE_MS, PROBE_CAP_MS, RETRY_BASE_MS, TARGET_TIMEOUT_MS,
 * PGLITE_SHARED_BUFFERS_MB, LOG_LEVEL (bench default: info, as deployed), BRIDGE_NODE_FLAGS.
 * ENGINE_BENCH_KEEP_DATA=1 keeps each bridge's data directory for a look at its tasks afterwards.
 * Exits 0 when the figures were taken, whatever the verdicts; 1 when a scenario could not be run.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { DEFAULT_ENGINE } from "../src/engine/settings.js";
import { PROJECT_ROOT } from "../src/paths.js";
import { sampleRss, stopChildrenOnExit, type Rss } from "./children.js";
import { cpuWindow, fmtCpu } from "./cpu.js";
import {
  checkBuilt, createTarget, deactivate, readTasks, scrape, seedTenant, startFakeTarget, startSeededBridge, sum, userIds,
  type BridgeProcess, type FakeTargetProcess, type Sample, type TaskFigures,
} from "./engine-setup.js";
import { distribution, fmtDist, judge, table, writeEngineResults, type Distribution, type Verdict } from "./engine-report.js";
import type { FakeTargetStats } from "../test/support/fake-target/control-api.js";

const A_MAX_P99_MS = 250;
const B_MAX_RATIO = 1.15;
const B_MAX_429_SHARE = 0.01;
const B_MAX_RSS_MB = 400;
/**
 * How often /metrics is scraped for progress and completion. Its state gauges are read from the
 * database (every task ever, on the one embedded connection), so a scrape costs the engine real
 * time: every 5 s is 3× a common Prometheus interval, and the figures do not depend on it.
 */
const POLL_EVERY_MS = 5_000;
const TENANT_TOKEN = "engine-bench-tenant-token";
/** Engine knobs read from this process's env and passed to the bridge (src/config.ts). */
const BRIDGE_KNOBS = [
  "WORKER_CONCURRENCY", "TASK_LEASE_MS", "WORKER_POLL_INTERVAL_MS", "PROBE_BASE_MS", "PROBE_CAP_MS", "RETRY_BASE_MS",
  "TARGET_TIMEOUT_MS", "PGLITE_SHARED_BUFFERS_MB", "LOG_LEVEL",
] as const;

interface Settings {
  only: "a" | "b" | undefined;
  a: { deactivations: number; rate: number; warmup: number; targets: number };
  b: { deactivations: number; targets: number; limitPerSec: number };
  clients: number;
  maxConcurrency: number;
  timeoutMs: number;
}

function loadSettings(env: NodeJS.ProcessEnv): Settings {
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name] || String(fallback);
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      throw new Error(`${name}=${JSON.stringify(raw)} is not a whole number from ${min} to ${max}; set e.g. ${name}=${fallback}`);
    }
    return Number(raw);
  };
  const only = env.ENGINE_BENCH_ONLY || undefined;
  if (only !== undefined && only !== "a" && only !== "b") throw new Error(`ENGINE_BENCH_ONLY=${JSON.stringify(only)} is unknown; use a, b, or leave it unset for both`);
  return {
    only,
    a: {
      deactivations: integer("ENGINE_BENCH_DEACTIVATIONS_A", 1_000, 1, 100_000),
      rate: integer("ENGINE_BENCH_RATE_A", 50, 1, 10_000),
      warmup: integer("ENGINE_BENCH_WARMUP_A", 200, 0, 10_000),
      targets: integer("ENGINE_BENCH_TARGETS_A", 1, 1, 10),
    },
    b: {
      deactivations: integer("ENGINE_BENCH_DEACTIVATIONS_B", 10_000, 1, 200_000),
      targets: integer("ENGINE_BENCH_TARGETS_B", 3, 1, 10),
      limitPerSec: integer("ENGINE_BENCH_LIMIT_B", 200, 1, 100_000),
    },
    clients: integer("ENGINE_BENCH_CLIENTS", 10, 1, 1_000),
    maxConcurrency: integer("ENGINE_BENCH_MAX_CONCURRENCY", 8, 1, 256),
    timeoutMs: integer("ENGINE_BENCH_TIMEOUT_S", 1_200, 10, 86_400) * 1000,
  };
}

/** The env var of each engine setting shown, and its default (src/config.ts, src/engine/settings.ts). */
const SHOWN_SETTINGS: [string, number][] = [
  ["WORKER_CONCURRENCY", DEFAULT_ENGINE.concurrency], ["TASK_LEASE_MS", DEFAULT_ENGINE.leaseMs], ["WORKER_POLL_INTERVAL_MS", DEFAULT_ENGINE.pollIntervalMs],
  ["PROBE_BASE_MS", DEFAULT_ENGINE.probeBaseMs], ["PROBE_CAP_MS", DEFAULT_ENGINE.probeCapMs], ["RETRY_BASE_MS", DEFAULT_ENGINE.retryBaseMs],
  ["TARGET_TIMEOUT_MS", DEFAULT_ENGINE.requestTimeoutMs], ["PGLITE_SHARED_BUFFERS_MB", 32],
];

const describeSettings = (env: Record<string, string>): string =>
  [
    ...SHOWN_SETTINGS.map(([name, fallback]) => (env[name] ? `${name}=${env[name]}` : `${name}=${fallback} (default)`)),
    `LOG_LEVEL=${env.LOG_LEVEL ?? "info"}`, `GUARD=${env.GUARD}`, ...(env.BRIDGE_NODE_FLAGS ? [`node flags: ${env.BRIDGE_NODE_FLAGS}`] : []),
  ].join(" ");

/** The bridge's env for a scenario: the bench's defaults, overridden by this process's env. */
function bridgeEnv(defaults: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { LOG_LEVEL: "info", ...defaults };
  for (const knob of BRIDGE_KNOBS) if (process.env[knob]) env[knob] = process.env[knob]!;
  return env;
}

const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number) => (ms / 1000).toFixed(1);

/** What a scenario measured besides its headline figures. */
interface Run {
  scenario: "a" | "b";
  bridgeEnv: Record<string, string>;
  targets: { name: string; maxConcurrency: number; maxRequestsPerSec: number | null }[];
  patch: { sent: number; rate: string; latencyMs: Distribution; statuses: Record<string, number> };
  tasks: { expected: number; byState: Record<string, number>; retried: number; reprobed: number };
  /** Per task: where the time went, ms (see `phases`). */
  phasesMs: Record<string, Distribution>;
  fakeTarget: Record<string, Pick<FakeTargetStats, "requests" | "rateLimit">>;
  connectorCallsMeanMs: Record<string, number>;
  /** How long each /metrics scrape took (the state gauges hold the database meanwhile). */
  scrapeMs: Distribution;
  cpu: ReturnType<ReturnType<typeof cpuWindow>["stop"]>;
  rss: { bridge: Rss; fakeTargetHwmMb: number };
  verdicts: Verdict[];
  figures: Record<string, unknown>;
}

/**
 * Per task, the intervals between the timestamps the engine writes: queued→account found (waiting
 * for a claim, the claim, the gate and the find-account call), each step (the previous checkpoint,
 * the gate and the call), the probe, and the final write.
 */
function phases(tasks: readonly TaskFigures[]): Record<string, Distribution> {
  const names = ["queued → account", "account → step 1", "step 1 → step 2", "step 2 → probe", "probe → verified"];
  const values: number[][] = names.map(() => []);
  for (const t of tasks) {
    if (t.state !== "verified" || t.accountAt === null || t.probedAt === null || t.verifiedAt === null || t.stepsAt.length !== 2 || t.probes !== 1) continue;
    const points = [t.createdAt, t.accountAt, ...t.stepsAt, t.probedAt, t.verifiedAt];
    for (let i = 0; i < names.length; i++) values[i]!.push(points[i + 1]! - points[i]!);
  }
  return Object.fromEntries(names.map((name, i) => [name, distribution(values[i]!)]));
}

function tasksSummary(tasks: readonly TaskFigures[], expected: number): Run["tasks"] {
  const byState: Record<string, number> = {};
  for (const t of tasks) byState[t.state] = (byState[t.state] ?? 0) + 1;
  return { expected, byState, retried: tasks.filter((t) => t.lastErrorKind !== null).length, reprobed: tasks.filter((t) => t.probes > 1).length };
}

/** Mean ms per connector call (gate wait included), from the bridge's histogram. */
function callMeans(samples: readonly Sample[]): Record<string, number> {
  const means: Record<string, number> = {};
  const calls = new Set(samples.filter((s) => s.name === "scim_bridge_connector_call_seconds_count").map((s) => s.labels.call!));
  for (const call of calls) {
    const count = sum(samples, "scim_bridge_connector_call_seconds_count", (l) => l.call === call);
    const total = sum(samples, "scim_bridge_connector_call_seconds_sum", (l) => l.call === call);
    if (count > 0) means[call] = (total / count) * 1000;
  }
  return means;
}

const FINAL_STATES = new Set(["verified", "escalated", "cancelled"]);

/**
 * Scrapes /metrics every POLL_EVERY_MS until `expected` tasks are final (or the timeout), printing
 * progress each time: tasks verified, requests per target since the last line, 429s, RSS, and how
 * long the scrape took. Answers the last scrape.
 */
async function awaitTasks(
  bridge: BridgeProcess, pids: Record<string, number>, expected: number, timeoutMs: number, line: () => string, scrapesMs: number[] = [],
): Promise<Sample[]> {
  const started = performance.now();
  let window = cpuWindow(pids);
  const requestsOf = (samples: readonly Sample[]) => {
    const requests = new Map<string, number>();
    for (const s of samples) if (s.name === "scim_bridge_target_requests_total") requests.set(s.labels.target!, (requests.get(s.labels.target!) ?? 0) + s.value);
    return requests;
  };
  let lastRequests = requestsOf(await scrape(bridge));
  let lastAt = performance.now();
  for (;;) {
    await sleep(POLL_EVERY_MS);
    const scrapeStarted = performance.now();
    const samples = await scrape(bridge);
    const now = performance.now();
    scrapesMs.push(now - scrapeStarted);
    const final = sum(samples, "scim_bridge_tasks", (l) => FINAL_STATES.has(l.state!));
    const requests = requestsOf(samples);
    const rates = [...requests].sort().map(([t, n]) => `${t} ${(((n - (lastRequests.get(t) ?? 0)) * 1000) / (now - lastAt)).toFixed(0)}/s`).join(", ");
    const tooMany = sum(samples, "scim_bridge_target_requests_total", (l) => l.status === "429");
    const escalated = sum(samples, "scim_bridge_tasks", (l) => l.state === "escalated");
    const rss = currentRssMb(bridge.pid);
    const cpu = window.stop();
    window = cpuWindow(pids);
    const bridgeCpu = cpu.processes.bridge!;
    progress(
      `${line()} | tasks verified ${sum(samples, "scim_bridge_tasks", (l) => l.state === "verified")}/${expected}${escalated ? `, escalated ${escalated}` : ""}` +
        ` | requests ${rates || "none yet"} | 429s ${tooMany} | bridge RSS ${rss.toFixed(0)} MB, CPU ${((bridgeCpu.total / bridgeCpu.seconds) * 100).toFixed(0)}%` +
        ` | other processes ${cpu.machine.otherCores.toFixed(1)} cores | scrape ${(now - scrapeStarted).toFixed(0)} ms`,
    );
    lastRequests = requests;
    lastAt = now;
    if (final >= expected) return samples;
    if (now - started > timeoutMs) throw new Error(`only ${final} of ${expected} tasks were final after ${seconds(timeoutMs)} s`);
  }
}

interface Scenario {
  name: "a" | "b";
  users: number;
  /** The first this many users are deactivated before the clock starts, and awaited. */
  warmup: number;
  targets: { name: string; limitPerSec: number | null }[];
  maxConcurrency: number;
  /** Sends the deactivations; answers when each response arrived. */
  send(bridge: BridgeProcess, ids: readonly string[], status: { sent: number }): Promise<Sent>;
  figures(input: { tasks: TaskFigures[]; t0: Map<string, number>; firstSentAt: number; stats: Record<string, FakeTargetStats>; rss: Rss }): { verdicts: Verdict[]; figures: Record<string, unknown> };
}

interface Sent {
  t0: Map<string, number>;
  latencies: number[];
  statuses: Record<string, number>;
  firstSentAt: number;
  rate: string;
}

async function runScenario(scenario: Scenario, fake: FakeTargetProcess, settings: Settings): Promise<Run> {
  const tenant = (name: string) => `${scenario.name}-${name}`;
  progress(`${scenario.name}: seeding ${scenario.users} users into the bridge and into ${scenario.targets.length} fake-target tenant(s)`);
  const env = bridgeEnv({ WORKER_CONCURRENCY: String(scenario.targets.length * scenario.maxConcurrency) });
  const bridge = await startSeededBridge({ users: scenario.users, env, progress: (l) => progress(`${scenario.name}: ${l}`) });
  try {
    for (const t of scenario.targets) {
      await seedTenant(fake.control, tenant(t.name), TENANT_TOKEN, scenario.users);
      await fake.control.setMode(tenant(t.name), { mode: "honest", ...(t.limitPerSec !== null ? { limitPerSec: t.limitPerSec } : {}) });
      await createTarget(bridge, { name: t.name, baseUrl: fake.control.tenantUrl(tenant(t.name)), token: TENANT_TOKEN, maxConcurrency: scenario.maxConcurrency, maxRequestsPerSec: t.limitPerSec });
    }
    const ids = await userIds(bridge, scenario.users);
    if (ids.length !== scenario.users) throw new Error(`the bridge lists ${ids.length} users, not ${scenario.users}`);
    progress(`${scenario.name}: bridge pid ${bridge.pid} at ${bridge.url}; ${describeSettings(bridge.env)}`);
    const rssSampler = sampleRss(bridge.pid);
    const pids = { bridge: bridge.pid, "fake target": fake.pid, bench: process.pid };
    const perTarget = scenario.targets.length;
    if (scenario.warmup > 0) {
      progress(`${scenario.name}: warm-up, ${scenario.warmup} deactivations (not measured)`);
      await scenario.send(bridge, ids.slice(0, scenario.warmup), { sent: 0 });
      await awaitTasks(bridge, pids, scenario.warmup * perTarget, settings.timeoutMs, () => `${scenario.name}: warm-up`);
    }
    for (const t of scenario.targets) await fake.control.reset(tenant(t.name), "stats");

    const measuredIds = ids.slice(scenario.warmup);
    const status = { sent: 0 };
    const startedAt = Date.now();
    const cpu = cpuWindow(pids);
    const line = () => `${scenario.name}: ${seconds(Date.now() - startedAt)} s, sent ${status.sent}/${measuredIds.length}`;
    const scrapesMs: number[] = [];
    const watching = awaitTasks(bridge, pids, ids.length * perTarget, settings.timeoutMs, line, scrapesMs);
    const sent = await scenario.send(bridge, measuredIds, status);
    const samples = await watching;
    const cpuUse = cpu.stop();
    const rss = rssSampler.stop();
    const stats: Record<string, FakeTargetStats> = {};
    for (const t of scenario.targets) stats[t.name] = await fake.control.stats(tenant(t.name));
    const fakeHwm = hwmMb(fake.pid);
    await bridge.stop();
    const tasks = await readTasks(bridge.dataDir);
    const measured = tasks.filter((t) => sent.t0.has(t.subjectId));
    const { verdicts, figures } = scenario.figures({ tasks: measured, t0: sent.t0, firstSentAt: sent.firstSentAt, stats, rss });
    return {
      scenario: scenario.name,
      bridgeEnv: bridge.env,
      targets: scenario.targets.map((t) => ({ name: t.name, maxConcurrency: scenario.maxConcurrency, maxRequestsPerSec: t.limitPerSec })),
      patch: { sent: sent.t0.size, rate: sent.rate + (scenario.warmup ? `, after ${scenario.warmup} unmeasured warm-up deactivations` : ""), latencyMs: distribution(sent.latencies), statuses: sent.statuses },
      tasks: tasksSummary(measured, sent.t0.size * perTarget),
      phasesMs: phases(measured),
      fakeTarget: Object.fromEntries(Object.entries(stats).map(([k, s]) => [k, { requests: s.requests, rateLimit: s.rateLimit }])),
      connectorCallsMeanMs: callMeans(samples),
      scrapeMs: distribution(scrapesMs),
      cpu: cpuUse,
      rss: { bridge: rss, fakeTargetHwmMb: fakeHwm },
      verdicts,
      figures,
    };
  } finally {
    await bridge.stop();
    if (process.env.ENGINE_BENCH_KEEP_DATA) progress(`${scenario.name}: data directory kept: ${bridge.dataDir}`);
    else await bridge.remove();
  }
}

/** The commit measured, and whether the tree had changes (the bench measures the built tree). */
function revision(): string {
  const git = (...args: string[]) => execFileSync("git", args, { cwd: PROJECT_ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  try {
    const dirty = git("status", "--porcelain", "--", "src", "connectors", "test/support").length > 0;
    return `commit ${git("rev-parse", "--short", "HEAD")}${dirty ? " with uncommitted changes in src/connectors/test/support" : ""}`;
  } catch {
    return "commit unknown (not a git checkout)";
  }
}

function currentRssMb(pid: number): number {
  try {
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

function hwmMb(pid: number): number {
  const sampler = sampleRss(pid);
  return sampler.stop().highWaterMb;
}

/** (a): a steady open-loop rate, at most `clients` in flight, after a warm-up at the same rate. */
function scenarioA(settings: Settings): Scenario {
  const { deactivations, rate, warmup, targets } = settings.a;
  return {
    name: "a",
    users: deactivations + warmup,
    warmup,
    targets: Array.from({ length: targets }, (_, i) => ({ name: `a${i + 1}`, limitPerSec: null })),
    maxConcurrency: settings.maxConcurrency,
    async send(bridge, ids, status) {
      const t0 = new Map<string, number>();
      const latencies: number[] = [];
      const statuses: Record<string, number> = {};
      const inFlight = new Set<Promise<void>>();
      const start = performance.now();
      const firstSentAt = Date.now();
      for (let i = 0; i < ids.length; i++) {
        const due = start + (i * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        while (inFlight.size >= settings.clients) await Promise.race(inFlight);
        const id = ids[i]!;
        const sentAt = performance.now();
        const request = deactivate(bridge, id).then((code) => {
          const at = Date.now();
          statuses[code] = (statuses[code] ?? 0) + 1;
          t0.set(id, at);
          latencies.push(performance.now() - sentAt);
          status.sent++;
        }).finally(() => inFlight.delete(request));
        inFlight.add(request);
      }
      await Promise.all(inFlight);
      const achieved = ((ids.length - 1) * 1000) / (performance.now() - start);
      return { t0, latencies, statuses, firstSentAt, rate: `${rate}/s open loop (achieved ${achieved.toFixed(1)}/s), ≤ ${settings.clients} in flight` };
    },
    figures({ tasks, t0 }) {
      const toVerified = tasks.filter((t) => t.verifiedAt !== null).map((t) => t.verifiedAt! - t0.get(t.subjectId)!);
      const commitBeforeResponse = tasks.map((t) => t0.get(t.subjectId)! - t.createdAt);
      const d = distribution(toVerified);
      const complete = toVerified.length === tasks.length && tasks.length === t0.size * targets;
      const verdicts = [
        judge(`(a) response → verified p99 ≤ ${A_MAX_P99_MS} ms`, complete ? d.p99 <= A_MAX_P99_MS : false, `p50 ${d.p50} ms, p99 ${d.p99} ms${complete ? "" : ` (only ${toVerified.length} of ${t0.size * targets} verified)`}`),
      ];
      return { verdicts, figures: { responseToVerifiedMs: d, taskCommitToResponseMs: distribution(commitBeforeResponse) } };
    },
  };
}

/** (b): `clients` closed-loop PATCH clients, as fast as the bridge answers. */
function scenarioB(settings: Settings): Scenario {
  const { deactivations, targets, limitPerSec } = settings.b;
  return {
    name: "b",
    users: deactivations,
    warmup: 0,
    targets: Array.from({ length: targets }, (_, i) => ({ name: `t${i + 1}`, limitPerSec })),
    maxConcurrency: settings.maxConcurrency,
    async send(bridge, ids, status) {
      const t0 = new Map<string, number>();
      const latencies: number[] = [];
      const statuses: Record<string, number> = {};
      let next = 0;
      const firstSentAt = Date.now();
      const start = performance.now();
      const client = async () => {
        while (next < ids.length) {
          const id = ids[next++]!;
          const sentAt = performance.now();
          const code = await deactivate(bridge, id);
          t0.set(id, Date.now());
          latencies.push(performance.now() - sentAt);
          statuses[code] = (statuses[code] ?? 0) + 1;
          status.sent++;
        }
      };
      await Promise.all(Array.from({ length: settings.clients }, client));
      const ms = performance.now() - start;
      return { t0, latencies, statuses, firstSentAt, rate: `${settings.clients} closed-loop clients: ${ids.length} in ${seconds(ms)} s (${((ids.length * 1000) / ms).toFixed(0)}/s)` };
    },
    figures({ tasks, t0, firstSentAt, stats, rss }) {
      const verified = tasks.filter((t) => t.verifiedAt !== null);
      const complete = verified.length === tasks.length && tasks.length === deactivations * targets;
      const lastVerified = Math.max(...verified.map((t) => t.verifiedAt!));
      const totalMs = lastVerified - firstSentAt;
      const perTarget = Object.entries(stats).map(([name, s]) => {
        const tooMany = s.rateLimit.tooManyRequests;
        const useful = s.requests.total - tooMany;
        const mine = verified.filter((t) => t.target === name).map((t) => t.verifiedAt!).sort((a, b) => a - b);
        // steady state: the middle 80% of this target's verifications
        const lo = mine[Math.floor(mine.length * 0.1)] ?? 0;
        const hi = mine[Math.floor(mine.length * 0.9)] ?? 0;
        const steadyTasksPerSec = hi > lo ? ((Math.floor(mine.length * 0.9) - Math.floor(mine.length * 0.1)) * 1000) / (hi - lo) : 0;
        const perTask = mine.length ? useful / mine.length : 0;
        return {
          name, requests: s.requests.total, tooMany, useful, floorMs: (useful * 1000) / limitPerSec, requestsPerTask: perTask,
          steadyTasksPerSec, steadyRequestsPerSec: steadyTasksPerSec * perTask, byStatus: s.requests.byStatus,
          retryAfterViolations: s.rateLimit.retryAfterViolations, lastVerifiedAfterMs: (mine.at(-1) ?? firstSentAt) - firstSentAt,
        };
      });
      const floorMs = Math.max(...perTarget.map((t) => t.floorMs));
      // engine throughput while the IdP was still sending, and after: SCIM ingestion competes for the CPU and the database
      const sendEnd = Math.max(...[...t0.values()]);
      const during = verified.filter((t) => t.verifiedAt! <= sendEnd).length;
      const throughput = {
        sendingSeconds: (sendEnd - firstSentAt) / 1000,
        verifiedPerSecWhileSending: (during * 1000) / Math.max(1, sendEnd - firstSentAt),
        verifiedPerSecAfter: ((verified.length - during) * 1000) / Math.max(1, lastVerified - sendEnd),
        limitTasksPerSec: (targets * limitPerSec) / 4,
      };
      const ratio = totalMs / floorMs;
      const requests = perTarget.reduce((n, t) => n + t.requests, 0);
      const tooMany = perTarget.reduce((n, t) => n + t.tooMany, 0);
      const share = requests ? tooMany / requests : 0;
      const incomplete = complete ? "" : ` (only ${verified.length} of ${deactivations * targets} verified)`;
      const verdicts = [
        judge(`(b) total / floor ≤ ${B_MAX_RATIO}`, complete ? ratio <= B_MAX_RATIO : false, `${ratio.toFixed(3)} (${seconds(totalMs)} s / ${seconds(floorMs)} s)${incomplete}`),
        judge(`(b) 429 share ≤ ${(B_MAX_429_SHARE * 100).toFixed(0)}%`, share <= B_MAX_429_SHARE, `${(share * 100).toFixed(3)}% (${tooMany} of ${requests})`),
        judge(`(b) bridge peak RSS ≤ ${B_MAX_RSS_MB} MB`, rss.highWaterMb <= B_MAX_RSS_MB, `VmHWM ${rss.highWaterMb.toFixed(0)} MB (sampled peak ${rss.sampledPeakMb.toFixed(0)} MB)`),
      ];
      return { verdicts, figures: { totalMs, floorMs, ratio, tooManyShare: share, perTarget, throughput } };
    },
  };
}

function printRun(run: Run): string[] {
  const lines = [`\n── scenario (${run.scenario}) ──`];
  lines.push(`bridge settings: ${describeSettings(run.bridgeEnv)}`);
  lines.push(`targets: ${run.targets.map((t) => `${t.name} (maxConcurrency ${t.maxConcurrency}, maxRequestsPerSec ${t.maxRequestsPerSec ?? "none"})`).join(", ")}`);
  lines.push(`deactivations: ${run.patch.sent}, ${run.patch.rate}; PATCH statuses ${JSON.stringify(run.patch.statuses)}`);
  lines.push(`PATCH latency ms: ${fmtDist(run.patch.latencyMs, 1)}`);
  lines.push(`tasks: ${run.tasks.expected} expected, by state ${JSON.stringify(run.tasks.byState)}, with an error recorded ${run.tasks.retried}, probed more than once ${run.tasks.reprobed}`);
  if (run.scenario === "a") {
    const f = run.figures as { responseToVerifiedMs: Distribution; taskCommitToResponseMs: Distribution };
    lines.push(`SCIM response → verified ms: ${fmtDist(f.responseToVerifiedMs)}  mean ${f.responseToVerifiedMs.mean.toFixed(1)}`);
    lines.push(`task committed → SCIM response arrived ms: ${fmtDist(f.taskCommitToResponseMs)}`);
  } else {
    const f = run.figures as { totalMs: number; floorMs: number; ratio: number; perTarget: { name: string; requests: number; tooMany: number; useful: number; floorMs: number; requestsPerTask: number; steadyRequestsPerSec: number; steadyTasksPerSec: number; retryAfterViolations: number; lastVerifiedAfterMs: number; byStatus: Record<string, number> }[] };
    const rows = [["target", "requests", "429", "req/task", "floor s", "done after s", "steady tasks/s", "steady req/s", "RA violations", "by status"]];
    for (const t of f.perTarget) {
      rows.push([t.name, String(t.requests), String(t.tooMany), t.requestsPerTask.toFixed(2), seconds(t.floorMs), seconds(t.lastVerifiedAfterMs), t.steadyTasksPerSec.toFixed(1), t.steadyRequestsPerSec.toFixed(1), String(t.retryAfterViolations), JSON.stringify(t.byStatus)]);
    }
    lines.push(table(rows, 1));
    lines.push(`total ${seconds(f.totalMs)} s from the first PATCH sent to the last task verified; floor ${seconds(f.floorMs)} s; ratio ${f.ratio.toFixed(3)}`);
    const tp = (run.figures as { throughput: { sendingSeconds: number; verifiedPerSecWhileSending: number; verifiedPerSecAfter: number; limitTasksPerSec: number } }).throughput;
    lines.push(`tasks verified/s: ${tp.verifiedPerSecWhileSending.toFixed(0)} while the PATCHes were being sent (${tp.sendingSeconds.toFixed(1)} s), ${tp.verifiedPerSecAfter.toFixed(0)} after; the limits allow ${tp.limitTasksPerSec.toFixed(0)} (at 4 requests a task)`);
  }
  lines.push("where a task's time went (ms, verified tasks probed once):");
  lines.push(table([["phase", "p50", "p90", "p99", "max"], ...Object.entries(run.phasesMs).map(([k, d]) => [k, String(d.p50), String(d.p90), String(d.p99), String(d.max)])], 1));
  lines.push(`connector call mean ms (bridge histogram, gate wait included): ${Object.entries(run.connectorCallsMeanMs).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(", ")}`);
  lines.push(`/metrics scrape ms (every ${POLL_EVERY_MS / 1000} s): ${fmtDist(run.scrapeMs)}`);
  const { processes, machine } = run.cpu;
  lines.push(`CPU over the measured window (${seconds(processes.bridge!.seconds * 1000)} s): ${["bridge", "fake target", "bench"].map((n) => fmtCpu(n, processes[n]!)).join("; ")}`);
  lines.push(`machine: ${machine.cpus} CPUs, ${machine.busyCores.toFixed(2)} cores busy on average, of which ${machine.otherCores.toFixed(2)} by other processes${machine.otherCores > 0.25 ? " (!! figures disturbed by other work on this machine)" : ""}; load average at the end ${machine.loadavg1m.toFixed(2)}`);
  lines.push(`RSS: bridge VmHWM ${run.rss.bridge.highWaterMb.toFixed(0)} MB (sampled peak ${run.rss.bridge.sampledPeakMb.toFixed(0)} MB); fake target VmHWM ${run.rss.fakeTargetHwmMb.toFixed(0)} MB`);
  return lines;
}

async function main(): Promise<void> {
  stopChildrenOnExit();
  checkBuilt();
  const settings = loadSettings(process.env);
  const measured = revision(); // now, before a commit made during the run could change the answer
  const fake = await startFakeTarget();
  progress(`fake target pid ${fake.pid} at ${fake.url}`);
  const runs: Run[] = [];
  let failure: Error | undefined;
  try {
    for (const scenario of [scenarioA(settings), scenarioB(settings)]) {
      if (settings.only !== undefined && settings.only !== scenario.name) continue;
      try {
        runs.push(await runScenario(scenario, fake, settings));
      } catch (error) {
        failure = error instanceof Error ? error : new Error(String(error));
        progress(`${scenario.name} FAILED: ${failure.message}`);
      }
    }
  } finally {
    await fake.stop();
  }
  const verdicts = runs.flatMap((r) => r.verdicts);
  if (runs.length > 0) {
    const setup = `node ${process.version}, embedded PGlite, ${cpus().length} CPUs, ${measured}`;
    const lines = [`\nEngine bench: ${setup}`, ...runs.flatMap(printRun), "", table([["", "target", "measured"], ...verdicts.map((v) => [v.verdict, v.target, v.measured])], 2), ""];
    process.stdout.write(lines.join("\n") + "\n");
    const file = await writeEngineResults({ at: new Date().toISOString(), setup: { ...settings, node: process.version, revision: measured }, runs });
    progress(`figures written to ${file}`);
  }
  if (failure) process.exitCode = 1;
}

main().catch((error: unknown) => {
  progress(`FAILED: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
