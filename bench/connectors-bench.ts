/**
 * `npm run bench:connectors`: each connector kind's time to verified against its peer — from the
 * moment the IdP has the bridge's answer to a PATCH active=false, to the moment the bridge marked
 * the task verified (the task's verifiedAt, on the same machine's clock).
 *
 * One bridge process (embedded PGlite), one connection and one target per kind, so a kind's
 * deactivations reach only its own peer. Per kind, people arrive one every BENCH_GAP_MS: seeded in
 * the peer, created over SCIM, deactivated; the measurement never overlaps two kinds. Peers run in
 * this process: PostgreSQL and slapd are real servers, the SCIM server and the REST fakes are
 * in-process HTTP servers.
 *
 * The SaaS kinds (github, google-workspace, microsoft-graph, slack, aws-iam) run against fakes of
 * their vendors' documented APIs (test/support/peers/*-fake.ts): their figures are the bridge's
 * own cost, not the vendors' latency.
 *
 * Knobs: BENCH_PEOPLE (per kind, Default 200), BENCH_GAP_MS (Default 50), BENCH_KINDS (comma list).
 */
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { PROJECT_ROOT } from "../src/paths.js";
import type { Subject } from "../src/connector-kit.js";
import { startBridgeProcess, tempDir, type BridgeProcess } from "../test/support/bridge-process.js";
import type { ConformancePeer } from "../test/support/conformance-peer.js";
import { ldapPeer } from "../test/support/peers/slapd.js";
import { postgresPeer } from "../test/support/peers/postgres-peer.js";
import { restPeer } from "../test/support/peers/rest-peer.js";
import { scimPeer } from "../test/support/peers/scim-peer.js";
import { SAAS_KINDS } from "../test/support/peers/saas-kinds.js";

const PEOPLE = Number(process.env.BENCH_PEOPLE ?? 200);
const GAP_MS = Number(process.env.BENCH_GAP_MS ?? 50);
const ADMIN_TOKEN = `bench-admin-${randomBytes(16).toString("hex")}`;
const CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

interface Kind {
  kind: string;
  peer: () => Promise<ConformancePeer<unknown>>;
  /** The target's config from the peer's (the module's config differs from the http peer's). */
  config?: (peer: ConformancePeer<unknown>) => unknown;
  what: string;
}

const KINDS: Kind[] = [
  { kind: "scim", peer: () => scimPeer() as Promise<ConformancePeer<unknown>>, what: "independent SCIM server, in-process" },
  { kind: "http", peer: () => restPeer() as Promise<ConformancePeer<unknown>>, what: "fake REST target, in-process; examples/fake-target.yaml" },
  { kind: "postgres", peer: () => postgresPeer() as Promise<ConformancePeer<unknown>>, what: "PostgreSQL 15 server on 127.0.0.1" },
  { kind: "ldap", peer: () => ldapPeer() as Promise<ConformancePeer<unknown>>, what: "slapd (Debian), its own process" },
  {
    kind: "team-directory",
    peer: () => restPeer() as Promise<ConformancePeer<unknown>>,
    config: (p) => {
      const c = p.config as { baseUrl: string; secrets?: { token?: string } };
      return { baseUrl: c.baseUrl, token: c.secrets?.token };
    },
    what: "CONNECTORS_DIR module, fake REST target in-process",
  },
  ...SAAS_KINDS.map((k) => ({ kind: k.kind, peer: k.peer, what: `${k.what}, in-process` })),
];

async function api<T>(bridge: BridgeProcess, method: string, path: string, body?: unknown, token = ADMIN_TOKEN): Promise<T> {
  const response = await fetch(`${bridge.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": path.startsWith("/scim") ? "application/scim+json" : "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
  return (text ? JSON.parse(text) : null) as T;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface OperationsJson {
  operations: { kind: string; tasks: { state: string; verifiedAt: string | null; attempts: number; probes: number; lastError: { message: string } | null }[] }[];
}

/** Tasks that needed more than one probe, or hit an error on the way: their count and a sample error. */
const slow = { reprobed: 0, errored: 0, sample: "" };

/** Waits for one person's deactivation to be verified; returns verifiedAt (ms since epoch). */
async function verifiedAt(bridge: BridgeProcess, connection: string, userName: string): Promise<number> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const view = await api<OperationsJson>(bridge, "GET", `/admin/api/connections/${connection}/subjects/${encodeURIComponent(userName)}/operations`);
    const task = view.operations.find((o) => o.kind === "deactivate")?.tasks[0];
    if (task?.state === "verified" && task.verifiedAt) {
      if (task.probes > 1) slow.reprobed++;
      if (task.lastError) {
        slow.errored++;
        slow.sample ||= task.lastError.message;
      }
      return Date.parse(task.verifiedAt);
    }
    if (task && task.state === "escalated") throw new Error(`${userName}: escalated: ${task.lastError?.message}`);
    if (Date.now() > deadline) throw new Error(`${userName}: not verified within 60 s (${task?.state ?? "no task"})`);
    await sleep(100);
  }
}

async function measure(bridge: BridgeProcess, kind: Kind): Promise<{ ms: number[]; wallS: number }> {
  const peer = await kind.peer();
  try {
    const connection = `bench-${kind.kind}`;
    const made = await api<{ token: string }>(bridge, "POST", "/admin/api/connections", { name: connection });
    await api(bridge, "POST", "/admin/api/targets", { connection, name: kind.kind, kind: kind.kind, config: kind.config ? kind.config(peer) : peer.config, policy: { slaMs: 120_000 } });
    const started = Date.now();
    const pending: Promise<number>[] = [];
    for (let i = 0; i < PEOPLE; i++) {
      const next = Date.now() + GAP_MS;
      const userName = `bench-${kind.kind}-${i}-${randomBytes(2).toString("hex")}@example.com`;
      const subject: Subject = await peer.seedAccount({ userName });
      const user = await api<{ id: string }>(bridge, "POST", "/scim/v2/Users", { schemas: [CORE_USER], userName: subject.userName, emails: [{ value: userName, primary: true }], active: true }, made.token);
      await api(bridge, "PATCH", `/scim/v2/Users/${user.id}`, { schemas: [PATCH_OP], Operations: [{ op: "replace", path: "active", value: false }] }, made.token);
      const answered = Date.now();
      pending.push(verifiedAt(bridge, connection, userName).then((at) => at - answered));
      if (i % 50 === 49) process.stderr.write(`  ${kind.kind}: ${i + 1}/${PEOPLE} deactivated\n`);
      await sleep(Math.max(0, next - Date.now()));
    }
    const ms = await Promise.all(pending);
    return { ms, wallS: (Date.now() - started) / 1000 };
  } finally {
    await peer.close();
  }
}

async function main(): Promise<void> {
  const only = process.env.BENCH_KINDS?.split(",").map((k) => k.trim());
  const kinds = KINDS.filter((k) => !only || only.includes(k.kind));
  const dir = await tempDir("scim-bridge-bench-connectors-");
  const connectorsDir = join(dir, "connectors");
  await mkdir(connectorsDir);
  await copyFile(join(PROJECT_ROOT, "examples", "connectors-dir", "team-directory.mjs"), join(connectorsDir, "team-directory.mjs"));
  const bridge = await startBridgeProcess(
    { DATA_DIR: join(dir, "data"), ADMIN_TOKEN, GUARD: "false", DEMO_CONNECTION: "false", CONNECTORS_DIR: connectorsDir, LOG_LEVEL: "info", SECRETS_KEY: randomBytes(32).toString("base64") },
    120_000,
    { keepChars: 20_000 },
  );
  const rows: string[] = [];
  try {
    console.log(`time to verified per connector kind: ${PEOPLE} deactivations each, one every ${GAP_MS} ms, measured from the SCIM answer to the task's verifiedAt`);
    for (const kind of kinds) {
      process.stderr.write(`== ${kind.kind} (${kind.what})\n`);
      Object.assign(slow, { reprobed: 0, errored: 0, sample: "" });
      const { ms, wallS } = await measure(bridge, kind);
      if (slow.reprobed + slow.errored > 0) process.stderr.write(`  ${kind.kind}: ${slow.reprobed} tasks probed more than once, ${slow.errored} met an error (e.g. ${slow.sample})\n`);
      const sorted = [...ms].sort((a, b) => a - b);
      rows.push(`| ${kind.kind} | ${kind.what} | ${ms.length} | ${percentile(sorted, 50)} ms | ${percentile(sorted, 99)} ms | ${sorted.at(-1)} ms | ${wallS.toFixed(1)} s |`);
    }
  } finally {
    bridge.child.kill("SIGTERM");
    await bridge.exited;
    await rm(dir, { recursive: true, force: true });
  }
  console.log(["| kind | peer | tasks | p50 | p99 | max | wall |", "|---|---|---|---|---|---|---|", ...rows].join("\n"));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
