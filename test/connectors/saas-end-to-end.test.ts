/**
 * End to end for the SaaS kinds: one IdP deactivation fans out to a bridge process's targets on
 * fakes of each vendor's documented API; every task reaches `verified`, and `scim-bridge status`
 * shows each step as observed or acknowledged (with the time its unreachable tokens expire).
 */
import { randomBytes } from "node:crypto";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { planFor, type Connector } from "../../src/connector-kit.js";
import { runCli, startBridgeProcess, tempDir, type BridgeProcess } from "../support/bridge-process.js";
import type { ConformancePeer } from "../support/conformance-peer.js";
import { SAAS_KINDS } from "../support/peers/saas-kinds.js";

const ADMIN_TOKEN = `e2e-admin-${randomBytes(16).toString("hex")}`;
const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

interface TaskJson {
  state: string;
  target: { name: string; kind: string };
  stepsDone: { name: string; outcome: string; acknowledged?: boolean; tokensExpireAt?: string }[];
  evidence: { revoked: boolean; evidence: string } | null;
  lastError: { message: string } | null;
}

describe("one IdP deactivation through every SaaS kind", () => {
  let dir: string;
  let bridge: BridgeProcess;
  const peers: { kind: string; connector: Connector; peer: ConformancePeer<unknown> }[] = [];
  const userName = `carol-${randomBytes(3).toString("hex")}@example.com`;
  const cli = (...args: string[]) => runCli(args, { SCIM_BRIDGE_URL: bridge.url, SCIM_BRIDGE_ADMIN_TOKEN: ADMIN_TOKEN });

  beforeAll(async () => {
    dir = await tempDir("scim-bridge-saas-e2e-");
    for (const k of SAAS_KINDS) peers.push({ kind: k.kind, connector: k.connector, peer: await k.peer() });
    bridge = await startBridgeProcess({ DATA_DIR: join(dir, "data"), ADMIN_TOKEN, GUARD: "false", SECRETS_KEY: randomBytes(32).toString("base64"), WORKER_POLL_INTERVAL_MS: "200", PROBE_BASE_MS: "200" });
    const token = /Bearer token  : (scb_\S+)/.exec(bridge.stdout())![1]!;
    for (const p of peers) {
      await p.peer.seedAccount({ userName });
      const file = join(dir, `${p.kind}.yaml`);
      await writeFile(file, stringify({ ...(p.peer.config as Record<string, unknown>), policy: { slaMs: 120_000 } }));
      const added = await cli("target", "add", "--connection", "demo", "--kind", p.kind, "--name", p.kind, "--config", file);
      expect({ kind: p.kind, code: added.code, stderr: added.stderr.replace(/^warning: .*\n/gm, "") }).toEqual({ kind: p.kind, code: 0, stderr: "" });
    }
    const scim = (method: string, path: string, body: unknown) =>
      fetch(`${bridge.url}/scim/v2${path}`, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/scim+json" }, body: JSON.stringify(body) });
    const created = await scim("POST", "/Users", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName, emails: [{ value: userName, primary: true }], active: true });
    expect(created.status).toBe(201);
    const id = ((await created.json()) as { id: string }).id;
    expect((await scim("PATCH", `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: "Replace", path: "active", value: "False" }] })).status).toBe(200);
  }, 120_000);

  afterAll(async () => {
    if (bridge && bridge.child.exitCode === null) {
      bridge.child.kill("SIGTERM");
      await bridge.exited;
    }
    await Promise.allSettled(peers.map((p) => p.peer.close()));
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 30_000);

  it("reaches verified in every target, each step observed or acknowledged, with the evidence", async () => {
    let tasks: TaskJson[] = [];
    const deadline = Date.now() + 60_000;
    for (;;) {
      const status = JSON.parse((await cli("status", userName, "--connection", "demo", "--json")).stdout) as { operations: { tasks: TaskJson[] }[] };
      tasks = status.operations[0]?.tasks ?? [];
      if (tasks.length === peers.length && tasks.every((t) => t.state === "verified")) break;
      if (Date.now() > deadline) throw new Error(`not verified everywhere:\n${JSON.stringify(tasks, null, 2)}`);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const human = (await cli("status", userName, "--connection", "demo")).stdout;
    for (const p of peers) {
      const task = tasks.find((t) => t.target.name === p.kind)!;
      expect(task.stepsDone.map((s) => s.name)).toEqual(planFor(p.connector, "deactivate", p.peer.config).map((s) => s.name));
      expect(task.evidence).toMatchObject({ revoked: true });
      for (const step of task.stepsDone.filter((s) => s.acknowledged)) expect({ step: step.name, tokensExpireAt: step.tokensExpireAt }).toEqual({ step: step.name, tokensExpireAt: expect.any(String) });
      const block = human.slice(human.indexOf(`  ${p.kind} (${p.kind})`));
      for (const step of task.stepsDone) expect(block).toMatch(new RegExp(`${step.name}\\s+\\((already\\s+done,\\s+)?(observed|acknowledged)`));
    }
    console.log(human);
  }, 90_000);
});
