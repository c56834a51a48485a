/**
 * Nothing is lost when a bridge dies at any instant (DESIGN.md principle 1), with real processes:
 * bridges started from dist/, the out-of-process fake target, 1,000 deactivations × 3 targets
 * sent the way an IdP sends them (several in flight, a request that got no answer sent again),
 * and one bridge SIGKILLed three times at random moments of the run and restarted. Every task must
 * end `verified`, every deactivation must have made exactly one operation, and every step's effect
 * must be counted in the fake target. On PostgreSQL (DATABASE_URL) two replicas share a fresh
 * database and one of them is killed; on PGlite the single process is killed and restarted on its
 * data dir. The kill moments come from a seeded PRNG: CRASH_SEED=<printed seed> replays a run.
 */
import { randomBytes, randomInt } from "node:crypto";
import { rm } from "node:fs/promises";
import pg from "pg";
import {
  FAKE_TARGET_CONNECTOR, killProcess, startBridgeProcess, startFakeTargetProcess, tempDir, type BridgeProcess, type FakeTargetProcess,
} from "../support/bridge-process.js";
import { fakeTargetControl, type FakeTargetControl } from "../support/fake-target/control-api.js";
import { databaseUrlFor } from "../support/template.js";
import { prng } from "../support/prng.js";

const USERS = 1000;
const TARGETS = ["t1", "t2", "t3"] as const;
const TASKS = USERS * TARGETS.length;
const KILLS = 3;
/** SCIM requests in flight at once, as an IdP's provisioning job runs them. */
const IN_FLIGHT = 8;
const TARGET_TOKEN = "crash-target-token";
const ADMIN_TOKEN = `crash-admin-${randomBytes(16).toString("hex")}`;
const SECRETS_KEY = randomBytes(32).toString("base64");
const SEED = process.env.CRASH_SEED ? Number(process.env.CRASH_SEED) : randomInt(2 ** 31);
const DATABASE_URL = process.env.DATABASE_URL;

const USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User";
const DEACTIVATE = { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", path: "active", value: false }] };
const userName = (i: number) => `crash${i}@example.com`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));


/** Polls `ready` every `everyMs` until it holds; throws `what` (with the last `detail`) after `timeoutMs`. */
async function until(what: string, ready: () => boolean | Promise<boolean>, timeoutMs: number, detail: () => string = () => "", everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached in ${timeoutMs} ms; ${detail()}`);
    await sleep(everyMs);
  }
}

/** Runs `fn` over `items`, `width` at a time. */
async function pool<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

/**
 * One bridge's place in the run: the process running now (null while it is down), restarted with
 * the same environment, so on the same DATABASE_URL or DATA_DIR. Keeps every process it started
 * for the clean-up and the diagnostics.
 */
class Replica {
  current: BridgeProcess | null = null;
  readonly processes: BridgeProcess[] = [];
  kills = 0;
  restarts = 0;
  /** Set by the clean-up: nothing starts again, even a restart a timed-out run had under way. */
  closed = false;

  constructor(readonly name: string, private readonly env: Record<string, string>) {}

  async start(): Promise<BridgeProcess> {
    if (this.closed) throw new Error(`${this.name} was cleaned up`);
    const started = await startBridgeProcess(this.env, 60_000, { keepChars: 40_000 });
    this.processes.push(started);
    if (this.closed) {
      await killProcess(started);
      throw new Error(`${this.name} was cleaned up while it started`);
    }
    if (this.processes.length > 1) this.restarts++;
    this.current = started;
    return started;
  }

  /** SIGKILL: no shutdown hook runs, in-flight requests and task runs die with it. */
  async kill(): Promise<void> {
    const victim = this.current;
    if (!victim) throw new Error(`${this.name} is already down`);
    this.current = null;
    await killProcess(victim);
    this.kills++;
  }

  async killAll(): Promise<void> {
    this.closed = true;
    this.current = null;
    await Promise.all(this.processes.map((p) => killProcess(p)));
  }

  /** The warnings and errors its processes logged last, for a failure's message. */
  complaints(lines = 15): string {
    return this.processes.map((p, n) => {
      const logged = p.stdout().split("\n").filter((l) => /"level":"(warn|error)"/.test(l)).slice(-lines);
      const stderr = p.stderr().trim().split("\n").slice(-5).join("\n");
      return `--- ${this.name} process ${n + 1} (pid ${p.child.pid}):\n${logged.join("\n")}${stderr ? `\n[stderr]\n${stderr}` : ""}`;
    }).join("\n");
  }
}

/**
 * The IdP: sends each request to a bridge that is up (round robin), and sends it again — to any
 * bridge that is up, after a moment — when it got no answer or a 5xx, as Okta and Entra retry.
 */
class Idp {
  /** Requests sent again, by method after no answer and by method→status after a 5xx. */
  readonly resent: Record<string, number> = {};
  /** Creates whose first answer was lost: the re-sent POST met the user it had made (409). */
  createdBefore = 0;
  private turn = 0;

  constructor(private readonly replicas: readonly Replica[], private readonly token: string) {}

  async send(method: string, path: string, body?: unknown): Promise<Response> {
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (this.replicas.every((r) => r.closed)) throw new Error(`${method} ${path}: the bridges were cleaned up`);
      const up = this.replicas.map((r) => r.current).filter((p): p is BridgeProcess => p !== null);
      if (up.length > 0) {
        const bridge = up[this.turn++ % up.length]!;
        try {
          const response = await fetch(`${bridge.url}/scim/v2${path}`, {
            method,
            headers: { authorization: `Bearer ${this.token}`, "content-type": "application/scim+json" },
            ...(body === undefined ? {} : { body: JSON.stringify(body) }),
            signal: AbortSignal.timeout(15_000),
          });
          if (response.status < 500) return response;
          await response.arrayBuffer();
          this.resent[`${method}→${response.status}`] = (this.resent[`${method}→${response.status}`] ?? 0) + 1;
        } catch {
          // no answer: the bridge died under the request, or was already gone
          this.resent[method] = (this.resent[method] ?? 0) + 1;
        }
      }
      if (Date.now() > deadline) throw new Error(`${method} ${path}: no bridge answered for 90 s`);
      await sleep(100);
    }
  }

  /** Creates the user (or finds the one a lost answer made), then deactivates it. */
  async deactivate(name: string): Promise<void> {
    let id: string;
    const created = await this.send("POST", "/Users", { schemas: [USER_SCHEMA], userName: name, active: true });
    if (created.status === 201) {
      id = ((await created.json()) as { id: string }).id;
    } else if (created.status === 409) {
      await created.arrayBuffer();
      this.createdBefore++;
      const found = await this.send("GET", `/Users?filter=${encodeURIComponent(`userName eq "${name}"`)}`);
      const list = (await found.json()) as { Resources?: { id: string }[] };
      if (!list.Resources?.[0]) throw new Error(`POST /Users ${name} answered 409, yet the filter finds no such user`);
      id = list.Resources[0].id;
    } else {
      throw new Error(`POST /Users ${name} answered ${created.status}: ${await created.text()}`);
    }
    for (let conflicts = 0; ; conflicts++) {
      const patched = await this.send("PATCH", `/Users/${id}`, DEACTIVATE);
      const text = await patched.text();
      if (patched.status === 200 || patched.status === 204) return;
      // 409: the resource changed while the PATCH was applied (the message says to retry)
      if (patched.status !== 409 || conflicts > 20) throw new Error(`PATCH /Users/${id} (${name}) answered ${patched.status}: ${text}`);
      await sleep(50);
    }
  }
}

async function admin<T>(bridge: BridgeProcess, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${bridge.url}/admin/api${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} /admin/api${path} answered ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** What the engine's own surfaces report: tasks by state (all targets), operations by kind/status. */
interface EngineCounts {
  tasks: Record<string, number>;
  tasksByTarget: Record<string, Record<string, number>>;
  operations: Record<string, number>;
}

/** Reads the state gauges of `/metrics` (computed from the database at scrape). */
async function metricsCounts(bridge: BridgeProcess): Promise<EngineCounts> {
  const response = await fetch(`${bridge.url}/metrics`, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
  const counts: EngineCounts = { tasks: {}, tasksByTarget: {}, operations: {} };
  for (const line of (await response.text()).split("\n")) {
    const m = /^(scim_bridge_tasks|scim_bridge_operations)\{([^}]*)\} (\d+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
    const n = Number(m[3]);
    if (m[1] === "scim_bridge_tasks") {
      counts.tasks[labels.state!] = (counts.tasks[labels.state!] ?? 0) + n;
      (counts.tasksByTarget[labels.target!] ??= {})[labels.state!] = n;
    } else {
      counts.operations[`${labels.kind}/${labels.status}`] = n;
    }
  }
  return counts;
}

/** Reads the same counts straight from the PostgreSQL database the replicas share. */
async function databaseCounts(db: pg.Pool): Promise<EngineCounts> {
  const counts: EngineCounts = { tasks: {}, tasksByTarget: {}, operations: {} };
  const tasks = await db.query<{ state: string; target: string; n: number }>("select t.state, g.name as target, count(*)::int as n from tasks t join targets g on g.id = t.target_id group by 1, 2");
  for (const row of tasks.rows) {
    counts.tasks[row.state] = (counts.tasks[row.state] ?? 0) + row.n;
    (counts.tasksByTarget[row.target] ??= {})[row.state] = row.n;
  }
  const operations = await db.query<{ kind: string; status: string; n: number }>("select kind, status, count(*)::int as n from operations group by 1, 2");
  for (const row of operations.rows) counts.operations[`${row.kind}/${row.status}`] = row.n;
  return counts;
}

const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
const show = (counts: Record<string, number>) => Object.entries(counts).map(([k, v]) => `${k}=${v}`).join(" ") || "none";

interface CrashRun {
  /** Printed in the summary: "PostgreSQL, 2 replicas" or "PGlite, 1 process". */
  label: string;
  seed: number;
  fake: FakeTargetControl;
  /** Tenant names in the fake target, one per bridge target (t1, t2, t3). */
  tenants: Record<(typeof TARGETS)[number], string>;
  /** Every replica; the last one is the one killed. The first was started and made the demo connection. */
  replicas: Replica[];
  demoToken: string;
  /** The engine's counts, from wherever they can be read now (throws while nothing can answer). */
  counts: () => Promise<EngineCounts>;
  /** A few unsettled tasks with their lease and last error, for a failure's message. */
  stuck?: () => Promise<string>;
}

/**
 * The run both cases share: deactivations sent while one bridge is killed three times, then the
 * checks. Kill k lands at a random share of the tasks verified in the k-th of three bands (about
 * 4–24 %, 33–53 % and 61–81 %), plus a random delay, so every kill hits work under way (SCIM
 * writes, steps, probes) and lands somewhere else with each seed.
 */
async function crashRun(run: CrashRun): Promise<void> {
  const started = performance.now();
  const rng = prng(run.seed);
  const victim = run.replicas[run.replicas.length - 1]!;
  const idp = new Idp(run.replicas, run.demoToken);
  let acknowledged = 0;
  let verified = 0;
  let sending = true;
  const kills: string[] = [];

  // progress, read from the engine's own counts as often as is cheap
  let watching = true;
  const watcher = (async () => {
    while (watching && !run.replicas.every((r) => r.closed)) {
      try {
        verified = (await run.counts()).tasks.verified ?? 0;
      } catch { /* nothing up to answer: the single process is down */ }
      await sleep(200);
    }
  })();

  const killer = (async () => {
    for (let k = 0; k < KILLS; k++) {
      const share = (k + 0.15 + rng() * 0.7) / (KILLS + 0.5);
      await until(`kill ${k + 1} at ${(share * 100).toFixed(0)}% of the tasks verified`, () => {
        if (victim.closed) throw new Error("the bridges were cleaned up");
        return verified >= share * TASKS;
      }, 90_000, () => `verified ${verified}`, 20);
      await sleep(rng() * 250);
      const at = `${acknowledged}/${USERS} deactivations answered, ${verified}/${TASKS} tasks verified${sending ? "" : " (all sent)"}`;
      await victim.kill();
      const killedAt = performance.now();
      const downMs = Math.round(rng() * 800);
      await sleep(downMs);
      await victim.start();
      kills.push(`kill ${k + 1}: ${at}; restarted after ${downMs} ms, listening again ${((performance.now() - killedAt) / 1000).toFixed(1)} s after the kill`);
    }
  })();

  const names = Array.from({ length: USERS }, (_, i) => userName(i));
  const sender = pool(names, IN_FLIGHT, async (name) => {
    await idp.deactivate(name);
    acknowledged++;
  }).finally(() => (sending = false));

  try {
    await Promise.all([sender, killer]);
    const sentAt = performance.now();
    // settled: every task there should be exists and none is still running (the checks below say
    // which state each is in). Leases are 3 s and the target answers at once, so 20 s without any
    // change means work is stuck, not slow.
    let seen = "";
    let changedAt = performance.now();
    for (;;) {
      const counts = await run.counts().catch(() => null);
      if (counts && total(counts.tasks) >= TASKS && ["queued", "revoking", "verifying"].every((state) => !counts.tasks[state])) break;
      const now = JSON.stringify(counts?.tasks ?? null);
      if (now !== seen) [seen, changedAt] = [now, performance.now()];
      if (performance.now() - changedAt > 20_000) {
        const stuck = await run.stuck?.().catch((error: unknown) => `(could not list them: ${String(error)})`) ?? "";
        throw new Error(`tasks stopped moving for 20 s, short of all ${TASKS} settled: ${counts ? show(counts.tasks) : "no counts"}\n${stuck}\n${run.replicas.map((r) => r.complaints()).join("\n")}`);
      }
      await sleep(250);
    }
    const drainedMs = performance.now() - sentAt;

    // the engine's counts: 3,000 tasks, all verified; one released deactivate operation per deactivation
    const counts = await run.counts();
    expect(counts.tasks).toEqual({ verified: TASKS });
    for (const target of TARGETS) expect(counts.tasksByTarget[target]).toEqual({ verified: USERS });
    expect(counts.operations).toEqual({ "deactivate/released": USERS });

    const bridge = run.replicas.find((r) => r.current)!.current!;
    // every user is inactive on the SCIM side: every answered deactivation was kept
    const inactive = await fetch(`${bridge.url}/scim/v2/Users?filter=${encodeURIComponent("active eq false")}&count=1`, { headers: { authorization: `Bearer ${run.demoToken}` } });
    expect(((await inactive.json()) as { totalResults: number }).totalResults).toBe(USERS);

    // per person, as support staff see it: one operation, verified in each target on an observed probe
    const wrong: string[] = [];
    await pool(names, 8, async (name) => {
      const { operations } = await admin<{ operations: { state: string; tasks: { target: { name: string }; state: string; evidence: { revoked: boolean } | null }[] }[] }>(
        bridge, "GET", `/connections/demo/subjects/${encodeURIComponent(name)}/operations`);
      const op = operations[0];
      const ok = operations.length === 1 && op!.state === "verified" && op!.tasks.length === TARGETS.length
        && op!.tasks.every((t) => t.state === "verified" && t.evidence?.revoked === true);
      if (!ok) wrong.push(`${name}: ${JSON.stringify(operations.map((o) => ({ state: o.state, tasks: o.tasks.map((t) => `${t.target.name}:${t.state}`) })))}`);
    });
    expect(wrong.slice(0, 10)).toEqual([]);

    // the fake target saw every step's effect for every user, and shows each user revoked
    const duplicates: Record<string, number> = {};
    const effects: Record<string, number> = {};
    const missing: string[] = [];
    for (const target of TARGETS) {
      const tenant = run.tenants[target];
      const stats = await run.fake.stats(tenant);
      for (const [write, n] of Object.entries(stats.writes.duplicates)) duplicates[write] = (duplicates[write] ?? 0) + n;
      for (const [write, n] of Object.entries(stats.writes.effects)) effects[write] = (effects[write] ?? 0) + n;
      for (const name of names) {
        const user = stats.effectsByUser[name];
        if (!((user?.effects["revoke-sessions"] ?? 0) >= 1 && (user?.effects["suspend-user"] ?? 0) >= 1)) missing.push(`${target} ${name}: ${JSON.stringify(user?.effects ?? {})}`);
      }
      await pool(names, 16, async (name) => {
        const user = await run.fake.user(tenant, name);
        if (!user || user.active || user.sessions !== 0 || user.tokens !== 0) missing.push(`${target} ${name}: ${JSON.stringify(user)}`);
      });
    }
    expect(missing.slice(0, 10)).toEqual([]);
    expect(effects).toEqual({ "revoke-sessions": TASKS, "suspend-user": TASKS });

    const wallS = ((performance.now() - started) / 1000).toFixed(1);
    process.stdout.write(
      `crash test (${run.label}, seed ${run.seed}): ${USERS} users, ${counts.tasks.verified}/${TASKS} tasks verified, ` +
      `${total(counts.operations)} operations, ${victim.kills} kills, ${victim.restarts} restarts, ` +
      `${total(duplicates)} duplicate step calls (${show(duplicates)}), ${total(idp.resent)} SCIM requests re-sent (${show(idp.resent)}, ` +
      `${idp.createdBefore} creates already made), all verified ${(drainedMs / 1000).toFixed(1)} s after the last answer and restart, wall ${wallS} s\n` +
      kills.map((k) => `  ${k}\n`).join(""),
    );
    expect(victim.kills).toBe(KILLS);
    expect(victim.restarts).toBe(KILLS);
  } finally {
    watching = false;
    await watcher;
    // a failure above must not leave the killer restarting a bridge after the clean-up
    await killer.catch(() => {});
    await sender.catch(() => {});
  }
}

/** Seeds each tenant with the run's users (and the bearer token the targets use), and registers the targets. */
async function registerTargets(fake: FakeTargetControl, bridge: BridgeProcess, tenants: CrashRun["tenants"]): Promise<void> {
  const users = Array.from({ length: USERS }, (_, i) => ({ userName: userName(i) }));
  for (const target of TARGETS) {
    await fake.seed(tenants[target], { token: TARGET_TOKEN, users });
    await admin(bridge, "POST", "/targets", {
      connection: "demo", name: target, kind: "fake-target",
      config: { baseUrl: fake.tenantUrl(tenants[target]), token: TARGET_TOKEN },
      policy: { maxConcurrency: 8 },
    });
  }
}

/** The bridge's settings for the run: the fake target's connector, no guard, short leases, fast polls. */
const bridgeEnv = (store: Record<string, string>): Record<string, string> => ({
  ...store,
  CONNECTOR_MODULES: FAKE_TARGET_CONNECTOR,
  ADMIN_TOKEN,
  SECRETS_KEY, // replicas on one database share the key that seals the targets' tokens
  GUARD: "false", // 1,000 deactivations at once would (rightly) be held for approval
  TASK_LEASE_MS: "3000", // a killed replica's tasks are taken over 3 s later
  WORKER_POLL_INTERVAL_MS: "200",
  WORKER_CONCURRENCY: "24",
  LOG_LEVEL: "info", // the listening line is an info line
});

const demoTokenOf = (bridge: BridgeProcess): string => {
  const token = /Bearer token  : (scb_\S+)/.exec(bridge.stdout())?.[1];
  if (!token) throw new Error(`no demo token in the first start's banner:\n${bridge.stdout().slice(0, 2000)}`);
  return token;
};

const tenantsFor = (prefix: string): CrashRun["tenants"] => ({ t1: `${prefix}-t1`, t2: `${prefix}-t2`, t3: `${prefix}-t3` });

if (!DATABASE_URL) process.stdout.write("crash test on PostgreSQL (two replicas) skipped: DATABASE_URL is not set; `npm run test:pg` sets it\n");

(DATABASE_URL ? describe : describe.skip)("crash: two replicas on PostgreSQL, one SIGKILLed three times", () => {
  const database = `crash_${randomBytes(6).toString("hex")}`;
  let fakeTarget: FakeTargetProcess | undefined;
  let db: pg.Pool | undefined;
  const replicas: Replica[] = [];

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.killAll()));
    if (fakeTarget) await killProcess(fakeTarget);
    await db?.end();
    const server = new pg.Client({ connectionString: DATABASE_URL });
    await server.connect();
    await server.query(`drop database if exists ${database} with (force)`).finally(() => server.end());
  }, 30_000);

  it("ends every task verified, loses no deactivation, and counts every step's effect in the target", async () => {
    const server = new pg.Client({ connectionString: DATABASE_URL });
    await server.connect();
    await server.query(`create database ${database}`).finally(() => server.end());
    const databaseUrl = databaseUrlFor(DATABASE_URL!, database);
    db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    fakeTarget = await startFakeTargetProcess();
    const fake = fakeTargetControl(fakeTarget.url);

    const env = bridgeEnv({ DATABASE_URL: databaseUrl });
    replicas.push(new Replica("replica A", env), new Replica("replica B", env));
    // A first: it migrates and makes the demo connection; B then finds both
    const first = await replicas[0]!.start();
    await replicas[1]!.start();
    const tenants = tenantsFor("pg");
    await registerTargets(fake, first, tenants);
    const shared = db;
    await crashRun({
      label: "PostgreSQL, 2 replicas", seed: SEED, fake, tenants, replicas, demoToken: demoTokenOf(first),
      counts: () => databaseCounts(shared),
      stuck: async () => {
        const open = await shared.query(`select t.id, g.name as target, t.state, t.locked_by, t.locked_until, t.run_at, t.attempts, t.steps, t.last_error
          from tasks t join targets g on g.id = t.target_id where t.state <> 'verified' order by t.run_at limit 5`);
        return `unsettled tasks (first 5):\n${open.rows.map((row) => JSON.stringify(row)).join("\n")}`;
      },
    });
  }, 150_000);
});

// `npm test` runs this case; `npm run test:pg` (the same files against PostgreSQL) runs the one above instead.
(DATABASE_URL ? describe.skip : describe)("crash: one process on PGlite, SIGKILLed three times and restarted on its data dir", () => {
  let dataDir: string | undefined;
  let fakeTarget: FakeTargetProcess | undefined;
  const replica: { r?: Replica } = {};

  afterAll(async () => {
    await replica.r?.killAll();
    if (fakeTarget) await killProcess(fakeTarget);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, 30_000);

  it("ends every task verified, loses no deactivation, and counts every step's effect in the target", async () => {
    dataDir = await tempDir("scim-bridge-engine-crash-");
    fakeTarget = await startFakeTargetProcess();
    const fake = fakeTargetControl(fakeTarget.url);
    const single = (replica.r = new Replica("the bridge", bridgeEnv({ DATA_DIR: dataDir })));
    const first = await single.start();
    const tenants = tenantsFor("pglite");
    await registerTargets(fake, first, tenants);
    await crashRun({
      label: "PGlite, 1 process", seed: SEED + 1, fake, tenants, replicas: [single], demoToken: demoTokenOf(first),
      counts: () => (single.current ? metricsCounts(single.current) : Promise.reject(new Error("the bridge is down"))),
    });
  }, 150_000);
});
