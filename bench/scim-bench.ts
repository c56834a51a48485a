/**
 * `npm run bench:scim`: the bridge against a SCIMMY-only baseline, under the two loads an IdP
 * produces — PATCH active=false (deprovisioning) and GET by userName filter (its lookup before
 * every push) — with figures, the targets judged, and a JSON copy in bench/results/.
 *
 * Env (all optional): SEED_USERS (Default: 100000), BENCH_SECONDS per measured run (Default: 10),
 * BENCH_CONNECTIONS (Default: 10), BENCH_ONLY=baseline|bridge to run one server,
 * BENCH_SCENARIOS=patch-active,filter-username to run some of the scenarios (e.g. to profile one).
 * Exits 0 when the figures were taken, whatever the verdicts; 1 when a server could not be run.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT_ROOT, SERVE_NODE_FLAGS } from "../src/paths.js";
import { sampleRss, startChild, stopChild, stopChildrenOnExit, type Started } from "./children.js";
import { checkServer, filterByUserName, measure, patchActive, type Measurement, type ScenarioName, type Server } from "./load.js";
import { judgeTargets, printReport, writeResults, type ServerRun } from "./report.js";
import { seedBridge } from "./seed-bridge.js";
import { seedUserCount } from "./seed-users.js";

/** Unmeasured load before each measured run, in seconds. */
const WARMUP_SECONDS = 2;
const BASELINE_START_TIMEOUT_MS = 120_000;
const BRIDGE_START_TIMEOUT_MS = 120_000;
const BRIDGE_CLI = join(PROJECT_ROOT, "dist", "src", "cli", "index.js");

interface Settings {
  users: number;
  seconds: number;
  connections: number;
  only: "baseline" | "bridge" | undefined;
  scenarios: ScenarioName[];
}

const SCENARIOS: readonly ScenarioName[] = ["patch-active", "filter-username"];

function loadSettings(env: NodeJS.ProcessEnv): Settings {
  const integer = (name: string, fallback: number, max: number): number => {
    const raw = env[name] ?? String(fallback);
    if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > max) {
      throw new Error(`${name}=${JSON.stringify(raw)} is not a whole number from 1 to ${max}; set e.g. ${name}=${fallback}`);
    }
    return Number(raw);
  };
  const only = env.BENCH_ONLY || undefined;
  if (only !== undefined && only !== "baseline" && only !== "bridge") {
    throw new Error(`BENCH_ONLY=${JSON.stringify(only)} is unknown; use baseline, bridge, or leave it unset for both`);
  }
  const scenarios = (env.BENCH_SCENARIOS || SCENARIOS.join(",")).split(",").map((name) => name.trim());
  const unknown = scenarios.filter((name) => !SCENARIOS.includes(name as ScenarioName));
  if (unknown.length > 0) throw new Error(`BENCH_SCENARIOS names unknown scenarios (${unknown.join(", ")}); use some of ${SCENARIOS.join(",")}`);
  return { users: seedUserCount(env), scenarios: scenarios as ScenarioName[], seconds: integer("BENCH_SECONDS", 10, 3_600), connections: integer("BENCH_CONNECTIONS", 10, 1_000), only };
}

const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);

/** Both scenarios against one started server, each after a warm-up. */
async function benchServer(server: Server, pid: number, settings: Settings, ids: readonly string[]): Promise<ServerRun> {
  if (ids.length !== settings.users) throw new Error(`${server.name}: ${ids.length} user ids known for ${settings.users} seeded users`);  const problems = await checkServer(server, ids[0]!, settings.users);
  for (const problem of problems) progress(`!! ${server.name} check failed: ${problem}`);
  const rss = sampleRss(pid);
  const measurements: Measurement[] = [];
  const all = [patchActive(server, ids), filterByUserName(server, settings.users)];
  for (const scenario of all.filter((one) => settings.scenarios.includes(one.name))) {
    progress(`${server.name}: ${scenario.name}, ${WARMUP_SECONDS} s warm-up + ${settings.seconds} s with ${settings.connections} connections`);
    await measure(server, scenario, { connections: settings.connections, seconds: WARMUP_SECONDS });
    measurements.push(await measure(server, scenario, { connections: settings.connections, seconds: settings.seconds }));
  }
  return { server: server.name, measurements, rss: rss.stop(), problems };
}

async function withServer<T>(started: Started<Server>, run: (server: Server, pid: number) => Promise<T>): Promise<T> {
  try {
    return await run(started.ready, started.pid);
  } finally {
    await stopChild(started.child);
  }
}

async function runBaseline(settings: Settings): Promise<ServerRun> {
  progress(`baseline: starting with ${settings.users} users`);
  const idsDir = await mkdtemp(join(tmpdir(), "scim-bench-ids-"));
  const idsFile = join(idsDir, "ids");
  const started = await startChild<Server>({
    name: "baseline",
    args: [join(PROJECT_ROOT, "dist", "bench", "baseline-server.js")],
    env: { ...process.env, SEED_USERS: String(settings.users), IDS_FILE: idsFile },
    ready: (line) => (line.ready === true && typeof line.url === "string" && typeof line.token === "string" ? { name: "baseline", scimUrl: line.url, token: line.token } : undefined),
    timeoutMs: BASELINE_START_TIMEOUT_MS,
  });
  try {
    const ids = (await readFile(idsFile, "utf8")).split("\n").filter(Boolean);
    return await withServer(started, (server, pid) => benchServer(server, pid, settings, ids));
  } finally {
    await rm(idsDir, { recursive: true, force: true });
  }
}

async function runBridge(settings: Settings): Promise<ServerRun> {
  if (!existsSync(BRIDGE_CLI)) throw new Error(`bridge is not built: ${BRIDGE_CLI} is missing; run \`npm run build\`, or set BENCH_ONLY=baseline`);
  const dataDir = await mkdtemp(join(tmpdir(), "scim-bench-"));
  try {
    progress(`bridge: seeding ${settings.users} users into ${dataDir}`);
    const { token, ids } = await seedBridge(dataDir, settings.users, progress);
    globalThis.gc?.(); // the seeding PGlite is closed; give its memory back before measuring
    progress("bridge: starting");
    const started = await startChild<Server>({
      name: "bridge",
      // BRIDGE_NODE_FLAGS: node flags for the bridge process (e.g. GC settings), as a deployment would set them.
      args: [...(process.env.BRIDGE_NODE_FLAGS ?? SERVE_NODE_FLAGS.join(" ")).split(" ").filter(Boolean), BRIDGE_CLI, "serve"],
      env: {
        ...process.env,
        DATA_DIR: dataDir,
        DATABASE_URL: "", // embedded PGlite in DATA_DIR, even if the shell names a server
        PORT: "0",
        // The default level: one JSON log line per request, read by this process as a collector would.
        LOG_LEVEL: "info",
        DEMO_CONNECTION: "false",
        ADMIN_TOKEN: randomBytes(32).toString("base64url"),
      },
      ready: (line) => (line.event === "listening" && typeof line.url === "string" ? { name: "bridge", scimUrl: `${line.url}/scim/v2`, token } : undefined),
      timeoutMs: BRIDGE_START_TIMEOUT_MS,
    });
    return await withServer(started, (server, pid) => benchServer(server, pid, settings, ids));
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  stopChildrenOnExit();
  const settings = loadSettings(process.env);
  const setup = `${settings.users} users, ${settings.connections} connections, ${settings.seconds} s per run, node ${process.version}`;
  const runs: ServerRun[] = [];
  let failure: Error | undefined;
  for (const [name, run] of [["baseline", runBaseline], ["bridge", runBridge]] as const) {
    if (settings.only !== undefined && settings.only !== name) continue;
    try {
      runs.push(await run(settings));
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
      break;
    }
  }
  const targets = judgeTargets(runs);
  if (runs.length > 0) {
    printReport(runs, targets, setup);
    const file = await writeResults({ at: new Date().toISOString(), setup: { ...settings, node: process.version }, runs, targets });
    progress(`figures written to ${file}`);
  }
  if (failure) {
    progress(`FAILED: ${failure.message}`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  progress(`FAILED: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
