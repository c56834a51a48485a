/**
 * What `npm run bench:engine` runs and reads: the fake target as its own process, a bridge seeded
 * straight through storage and started as its own process on embedded PGlite, its targets created
 * through the admin API, its /metrics scraped for progress, and — once it has stopped — its task
 * rows read from the data directory for the per-task timestamps.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT_ROOT, SERVE_NODE_FLAGS } from "../src/paths.js";
import { openPglite } from "../src/storage/pglite-driver.js";
import { fakeTargetControl, type FakeTargetControl } from "../test/support/fake-target/control-api.js";
import { startChild, stopChild } from "./children.js";
import { patchActiveBody } from "./load.js";
import { seedBridge } from "./seed-bridge.js";
import { seedUserName } from "./seed-users.js";

const BRIDGE_CLI = join(PROJECT_ROOT, "dist", "src", "cli", "index.js");
const FAKE_TARGET_MAIN = join(PROJECT_ROOT, "dist", "test", "support", "fake-target", "main.js");
export const FAKE_TARGET_CONNECTOR = join(PROJECT_ROOT, "dist", "test", "support", "fake-target", "connector.js");
const START_TIMEOUT_MS = 120_000;
/** Users per control-API seeding request. */
const SEED_BATCH = 5_000;

export function checkBuilt(): void {
  for (const file of [BRIDGE_CLI, FAKE_TARGET_MAIN, FAKE_TARGET_CONNECTOR]) {
    if (!existsSync(file)) throw new Error(`${file} is missing; build with \`tsc -p bench/tsconfig.engine.json\` (npm run bench:engine does)`);
  }
}

export interface FakeTargetProcess {
  url: string;
  pid: number;
  control: FakeTargetControl;
  stop(): Promise<void>;
}

export async function startFakeTarget(): Promise<FakeTargetProcess> {
  const started = await startChild<string>({
    name: "fake target",
    args: [FAKE_TARGET_MAIN],
    env: { ...process.env, PORT: "0" },
    ready: (line) => (line.event === "listening" && typeof line.url === "string" ? line.url : undefined),
    timeoutMs: START_TIMEOUT_MS,
  });
  return { url: started.ready, pid: started.pid, control: fakeTargetControl(started.ready), stop: () => stopChild(started.child) };
}

/** Seeds `users` users (user000001@example.com, …) into a tenant with bearer `token`. */
export async function seedTenant(control: FakeTargetControl, tenant: string, token: string, users: number): Promise<void> {
  await control.reset(tenant, "all");
  for (let first = 1; first <= users; first += SEED_BATCH) {
    const batch = [];
    for (let n = first; n <= Math.min(users, first + SEED_BATCH - 1); n++) batch.push({ userName: seedUserName(n) });
    await control.seed(tenant, { token, users: batch });
  }
}

export interface BridgeProcess {
  url: string;
  scimUrl: string;
  /** Bearer token of the seeded connection "bench". */
  token: string;
  /** The seeded users' ids, in seed order. */
  ids: string[];
  adminToken: string;
  pid: number;
  dataDir: string;
  /** The env the bridge was started with that this bench chose (engine knobs included). */
  env: Record<string, string>;
  /** SIGTERM, and wait for the exit (the database is closed cleanly before it). */
  stop(): Promise<void>;
  /** Removes the data directory. */
  remove(): Promise<void>;
}

/**
 * A fresh data directory with `users` users in connection "bench", then the bridge on it as a
 * child process: embedded PGlite, the guard off, the fake-target connector loaded.
 */
export async function startSeededBridge(options: { users: number; env: Record<string, string>; progress: (line: string) => void }): Promise<BridgeProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), "engine-bench-"));
  const remove = () => rm(dataDir, { recursive: true, force: true });
  try {
    const { token, ids } = await seedBridge(dataDir, options.users, options.progress);
    const port = await freePort();
    const adminToken = randomBytes(32).toString("base64url");
    const env: Record<string, string> = {
      DATA_DIR: dataDir,
      DATABASE_URL: "", // embedded PGlite in DATA_DIR, even if the shell names a server
      DEMO_CONNECTION: "false",
      ADMIN_TOKEN: adminToken,
      GUARD: "false", // otherwise a mass deactivation is held for approval, as it should be
      CONNECTOR_MODULES: FAKE_TARGET_CONNECTOR,
      ...options.env,
    };
    const nodeFlags = (process.env.BRIDGE_NODE_FLAGS ?? SERVE_NODE_FLAGS.join(" ")).split(" ").filter(Boolean);
    const child = await startBridgeChild([...nodeFlags, BRIDGE_CLI, "serve"], { ...process.env, ...env, PORT: String(port) }, port);
    const url = `http://127.0.0.1:${port}`;
    const shown = Object.fromEntries(Object.entries(env).filter(([k]) => k !== "ADMIN_TOKEN" && k !== "DATA_DIR" && k !== "CONNECTOR_MODULES"));
    return {
      url,
      scimUrl: `${url}/scim/v2`,
      token,
      ids,
      adminToken,
      pid: child.pid!,
      dataDir,
      env: { ...shown, ...(nodeFlags.length ? { BRIDGE_NODE_FLAGS: nodeFlags.join(" ") } : {}) },
      stop: () => stopChild(child),
      remove,
    };
  } catch (error) {
    await remove();
    throw error;
  }
}

/** A port free now on 127.0.0.1 (the bridge is told it, so readiness needs no log line at any LOG_LEVEL). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const bridges = new Set<ChildProcess>();
let killOnExit = false;

/**
 * Starts the bridge and waits for /readyz to answer 200. Its stdout (the log, one JSON line per
 * request and per step at LOG_LEVEL=info) is read and dropped, as a log collector would; the last
 * lines of stderr explain a failed start.
 */
async function startBridgeChild(args: string[], env: NodeJS.ProcessEnv, port: number): Promise<ChildProcess> {
  if (!killOnExit) {
    killOnExit = true;
    process.once("exit", () => {
      for (const child of bridges) child.kill("SIGKILL");
    });
  }
  const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  bridges.add(child);
  child.once("exit", () => bridges.delete(child));
  child.stdout!.resume();
  const tail: string[] = [];
  createInterface({ input: child.stderr! }).on("line", (line) => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
  });
  const exited = new Promise<never>((_, reject) => child.once("exit", (code, signal) => reject(new Error(`bridge exited (${signal ?? `code ${code}`}) before it was ready; its last output:\n  ${tail.join("\n  ")}`))));
  exited.catch(() => {});
  const deadline = performance.now() + START_TIMEOUT_MS;
  for (;;) {
    const ready = await Promise.race([
      fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status === 200, () => false),
      exited,
    ]);
    if (ready) return child;
    if (performance.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`bridge was not ready within ${START_TIMEOUT_MS / 1000} s; its last output:\n  ${tail.join("\n  ")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface TargetSpec {
  name: string;
  baseUrl: string;
  token: string;
  maxConcurrency: number;
  maxRequestsPerSec: number | null;
}

export async function createTarget(bridge: BridgeProcess, spec: TargetSpec): Promise<void> {
  const response = await fetch(`${bridge.url}/admin/api/targets`, {
    method: "POST",
    headers: { authorization: `Bearer ${bridge.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({
      connection: "bench",
      name: spec.name,
      kind: "fake-target",
      config: { baseUrl: spec.baseUrl, token: spec.token },
      policy: { maxConcurrency: spec.maxConcurrency, maxRequestsPerSec: spec.maxRequestsPerSec },
    }),
  });
  if (response.status !== 201) throw new Error(`creating target ${spec.name} answered ${response.status}: ${await response.text()}`);
}

/** The ids of the first `users` seeded users. */
export const userIds = async (bridge: BridgeProcess, users: number): Promise<string[]> => bridge.ids.slice(0, users);

const PATCH_ACTIVE_FALSE = patchActiveBody(false);

/** PATCH active=false; resolves when the whole response has arrived, with its status. */
export async function deactivate(bridge: BridgeProcess, id: string): Promise<number> {
  const response = await fetch(`${bridge.scimUrl}/Users/${id}`, {
    method: "PATCH",
    headers: { authorization: `Bearer ${bridge.token}`, "content-type": "application/scim+json", accept: "application/scim+json" },
    body: PATCH_ACTIVE_FALSE,
  });
  await response.arrayBuffer();
  return response.status;
}

/** One sample of the Prometheus text format. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export async function scrape(bridge: BridgeProcess): Promise<Sample[]> {
  const response = await fetch(`${bridge.url}/metrics`);
  if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
  const samples: Sample[] = [];
  for (const line of (await response.text()).split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

export const sum = (samples: readonly Sample[], name: string, where: (labels: Record<string, string>) => boolean = () => true): number =>
  samples.filter((s) => s.name === name && where(s.labels)).reduce((total, s) => total + s.value, 0);

/** One task as stored, with the timestamps the engine wrote (ms since the epoch, the bridge's clock). */
export interface TaskFigures {
  subjectId: string;
  target: string;
  state: string;
  probes: number;
  attempts: number;
  lastErrorKind: string | null;
  createdAt: number;
  /** After findAccount returned. */
  accountAt: number | null;
  /** After each step returned, in plan order. */
  stepsAt: number[];
  /** After the last probe returned. */
  probedAt: number | null;
  verifiedAt: number | null;
}

/** Reads every task from a stopped bridge's data directory. */
export async function readTasks(dataDir: string): Promise<TaskFigures[]> {
  const db = await openPglite({ dataDir });
  try {
    const result = await db.query<{
      subject_id: string; target: string; state: string; probes: number; attempts: number; last_error_kind: string | null;
      created_at: Date; verified_at: Date | null; account: { at?: string } | null; steps: { at: string }[]; evidence: { at?: string } | null;
    }>(
      `select o.subject_id::text as subject_id, g.name as target, t.state, t.probes, t.attempts, t.last_error_kind,
              t.created_at, t.verified_at, t.account, t.steps, t.evidence
       from tasks t join operations o on o.id = t.operation_id join targets g on g.id = t.target_id`,
    );
    const ms = (iso: string | undefined) => (iso ? Date.parse(iso) : null);
    return result.rows.map((r) => ({
      subjectId: r.subject_id,
      target: r.target,
      state: r.state,
      probes: r.probes,
      attempts: r.attempts,
      lastErrorKind: r.last_error_kind,
      createdAt: r.created_at.getTime(),
      accountAt: ms(r.account?.at),
      stepsAt: r.steps.map((s) => Date.parse(s.at)),
      probedAt: ms(r.evidence?.at),
      verifiedAt: r.verified_at ? r.verified_at.getTime() : null,
    }));
  } finally {
    await db.close();
  }
}
