import { spawn, type ChildProcess } from "node:child_process";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../src/paths.js";
import { runCli, startBridgeProcess, tempDir, type BridgeProcess } from "../support/bridge-process.js";
import { fakeTargetControl, type FakeTargetControl } from "../support/fake-target/control-api.js";

const ADMIN_TOKEN = "status-test-admin-token-0123456789";
const FAKE_TARGET_MAIN = join(PROJECT_ROOT, "dist", "test", "support", "fake-target", "main.js");
const FAKE_CONNECTOR = join(PROJECT_ROOT, "dist", "test", "support", "fake-target", "connector.js");
const SCIM = (token: string) => ({ authorization: `Bearer ${token}`, "content-type": "application/scim+json" });

interface TaskJson {
  id: string;
  target: { name: string; kind: string; mode: string };
  state: string;
  resolution: { by: string; note: string } | null;
  stepsDone: { name: string; outcome: string }[];
  lastError: { kind: string | null; message: string; at: string | null } | null;
  nextAttemptAt: string | null;
  evidence: { revoked: boolean; evidence: string } | null;
}
interface StatusJson {
  connection: string;
  userName: string;
  operations: { id: string; kind: string; state: string; tasks: TaskJson[] }[];
}

/** Starts `node dist/test/support/fake-target/main.js` and waits for its listening line. */
async function startFakeTargetProcess(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [FAKE_TARGET_MAIN], { env: { PATH: process.env.PATH ?? "" }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fake target did not start:\n${out}`)), 20_000);
    child.stdout!.on("data", (d) => {
      out += String(d);
      const match = /"url":"([^"]+)"/.exec(out);
      if (match) { clearTimeout(timer); resolve(match[1]!); }
    });
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`fake target exited with ${code}:\n${out}`)); });
  });
  return { child, url };
}

async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await read();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last seen:\n${JSON.stringify(last, null, 2)}`);
    await new Promise((r) => setTimeout(r, 200));
    last = await read();
  }
  return last;
}

describe("scim-bridge status, target and support actions against a running bridge", () => {
  let dataDir: string;
  let bridge: BridgeProcess;
  let fake: { child: ChildProcess; url: string };
  let control: FakeTargetControl;
  let env: Record<string, string>;
  const cli = (...args: string[]) => runCli(args, env);
  const statusJson = async (): Promise<StatusJson> => {
    const result = await cli("status", "alice@example.com", "--connection", "demo", "--json");
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout) as StatusJson;
  };
  const taskOf = (s: StatusJson, target: string) => s.operations[0]?.tasks.find((t) => t.target.name === target);

  beforeAll(async () => {
    dataDir = await tempDir("scim-bridge-status-");
    fake = await startFakeTargetProcess();
    control = fakeTargetControl(fake.url);
    await control.seed("acme", { token: "acme-token", users: [{ userName: "alice@example.com" }] });
    await control.seed("broken", { token: "broken-token", users: [{ userName: "alice@example.com" }] });
    await control.setMode("broken", { mode: "auth-broken" });
    bridge = await startBridgeProcess({ DATA_DIR: dataDir, ADMIN_TOKEN, GUARD: "false", CONNECTOR_MODULES: FAKE_CONNECTOR });
    env = { SCIM_BRIDGE_URL: bridge.url, SCIM_BRIDGE_ADMIN_TOKEN: ADMIN_TOKEN };
  }, 90_000);
  afterAll(async () => {
    if (bridge && bridge.child.exitCode === null) {
      bridge.child.kill("SIGTERM");
      await bridge.exited;
    }
    if (fake && fake.child.exitCode === null) fake.child.kill("SIGTERM");
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("registers targets with `target add` from a YAML or JSON file (policy included), and shows and lists them", async () => {
    const yamlFile = join(dataDir, "acme-app.yaml");
    await writeFile(yamlFile, [
      "# the fake target's tenant, as an app owner writes it",
      `baseUrl: ${control.tenantUrl("acme")}`,
      "token: acme-token",
      "policy:",
      "  slaMs: 60000",
      "  mode: live",
      "",
    ].join("\n"));
    const created = await cli("target", "add", "--connection", "demo", "--kind", "fake-target", "--name", "acme-app", "--config", yamlFile, "--json");
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    const target = JSON.parse(created.stdout) as { name: string; kind: string; config: Record<string, unknown>; policy: { slaMs: number } };
    expect(target).toEqual(expect.objectContaining({ name: "acme-app", kind: "fake-target" }));
    expect(target.config).toEqual({ baseUrl: control.tenantUrl("acme"), token: "[secret]" });
    expect(target.policy.slaMs).toBe(60_000);

    const configFile = join(dataDir, "broken-config.json");
    await writeFile(configFile, JSON.stringify({ baseUrl: control.tenantUrl("broken"), token: "broken-token" }));
    const fromJson = await cli("target", "add", "--connection", "demo", "--kind", "fake-target", "--name", "broken-app", "--config", configFile);
    expect(fromJson.code).toBe(0);
    expect(fromJson.stdout).toMatch(/^Target broken-app \(fake-target\) created in connection demo/);
    expect(fromJson.stdout).toContain("token=[secret]");

    const listed = JSON.parse((await cli("target", "list", "--connection", "demo", "--json")).stdout) as { name: string; policy: { mode: string } }[];
    expect(listed.map((t) => t.name)).toEqual(["acme-app", "broken-app"]);
    const human = await cli("target", "list");
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^name\tkind\tconnectionId\tmode\tdeactivate\tsla\tenabled\tpausedUntil$/m);
    expect(human.stdout).toMatch(/^acme-app\tfake-target\t[0-9a-f-]{36}\tlive\tdisable\t1m\ttrue\t-$/m);

    const show = await cli("target", "show", "acme-app", "--connection", "demo");
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^Target acme-app \(fake-target\) enabled, id [0-9a-f-]{36}$/m);
    expect(show.stdout).toContain(`config: baseUrl=${control.tenantUrl("acme")}, token=[secret]`);
    expect(show.stdout).toContain("policy: mode live, deactivate disable, SLA 1m, max concurrency 4, rate unlimited/s");
    expect(show.stdout).not.toContain("acme-token");

    const off = await cli("target", "disable", "broken-app", "--connection", "demo");
    expect(off.stdout.trim()).toBe("Target broken-app disabled: new operations no longer reach it");
    expect((await cli("target", "show", "broken-app", "--connection", "demo")).stdout).toMatch(/^Target broken-app \(fake-target\) DISABLED/);
    expect((await cli("target", "enable", "broken-app", "--connection", "demo")).code).toBe(0);
    expect(JSON.parse((await cli("target", "show", "broken-app", "--connection", "demo", "--json")).stdout).enabled).toBe(true);
  });

  it("refuses a target it cannot register, with the API's message and hint", async () => {
    const file = join(dataDir, "x.yaml");
    await writeFile(file, "baseUrl: http://x\ntoken: t\n");
    const add = (...args: string[]) => cli("target", "add", "--connection", "demo", "--name", "x", ...args);
    const unknownKind = await add("--kind", "nope", "--config", file);
    expect(unknownKind.code).toBe(1);
    expect(unknownKind.stderr).toMatch(/error: kind "nope" is not installed; installed kinds: (\S+, )*fake-target[,\n]/);
    expect(unknownKind.stderr).toMatch(/hint: fix the request and send it again; nothing was changed/);
    const badYaml = join(dataDir, "bad.yaml");
    await writeFile(badYaml, "baseUrl: [unclosed\n");
    expect((await add("--kind", "fake-target", "--config", badYaml)).stderr).toMatch(/error: --config .*bad.yaml is not valid YAML or JSON/);
    const list = join(dataDir, "list.yaml");
    await writeFile(list, "- a\n- b\n");
    expect((await add("--kind", "fake-target", "--config", list)).stderr).toMatch(/must hold a mapping of config fields/);
    const missing = await add("--kind", "fake-target", "--config", join(dataDir, "nope.yaml"));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read --config .*nope.yaml \(ENOENT\)/);
    const unknownField = join(dataDir, "extra.yaml");
    await writeFile(unknownField, "baseUrl: http://x\ntoken: t\ncolour: red\n");
    expect((await add("--kind", "fake-target", "--config", unknownField)).stderr).toMatch(/error: config.colour is not a field of kind fake-target; its fields: baseUrl, token/);
  });

  it("tests a target without writing: credentials, then one person's account", async () => {
    const before = await control.stats("acme");
    const ok = await cli("target", "test", "acme-app", "--connection", "demo", "--user", "alice@example.com");
    expect(ok.code).toBe(0);
    expect(ok.stdout.trimEnd()).toMatch(/^target acme-app \(fake-target\), nothing written:\n  credentials  valid \(\d+ ms\)\n  alice@example.com  found account u-1 \(\d+ ms\)$/);
    const nobody = JSON.parse((await cli("target", "test", "acme-app", "--connection", "demo", "--user", "nobody@example.com", "--json")).stdout) as { account: { ok: boolean; found: boolean } };
    expect(nobody.account).toEqual(expect.objectContaining({ ok: true, found: false }));
    const after = await control.stats("acme");
    expect(after.writes).toEqual(before.writes);
    expect(Object.keys(after.requests.byRoute).every((route) => route.startsWith("GET "))).toBe(true);

    const broken = await cli("target", "test", "broken-app", "--connection", "demo");
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/credentials  FAILED: auth error: GET \/t\/broken\/users answered 401/);
    const missing = await cli("target", "test", "nope", "--connection", "demo");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/error: no target named "nope" in connection demo/);
  });

  it("says plainly when a person has no operations, and exits 0", async () => {
    const none = await cli("status", "alice@example.com", "--connection", "demo");
    expect(none.code).toBe(0);
    expect(none.stdout.trim()).toBe("no operations for alice@example.com in connection demo");
  });

  it("shows a deactivation verified in one target and escalated (auth) in the other", async () => {
    const demoToken = /Bearer token  : (scb_\S+)/.exec(bridge.stdout())![1]!;
    const created = await fetch(`${bridge.url}/scim/v2/Users`, {
      method: "POST",
      headers: SCIM(demoToken),
      body: JSON.stringify({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: "alice@example.com", active: true }),
    });
    expect(created.status).toBe(201);
    const id = ((await created.json()) as { id: string }).id;
    const patched = await fetch(`${bridge.url}/scim/v2/Users/${id}`, {
      method: "PATCH",
      headers: SCIM(demoToken),
      body: JSON.stringify({ schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", path: "active", value: false }] }),
    });
    expect(patched.status).toBe(200);

    const settled = await until("acme-app verified and broken-app escalated", statusJson, (s) =>
      taskOf(s, "acme-app")?.state === "verified" && taskOf(s, "broken-app")?.state === "escalated");
    expect(settled).toEqual(expect.objectContaining({ connection: "demo", userName: "alice@example.com" }));
    expect(settled.operations).toHaveLength(1);
    expect(settled.operations[0]).toEqual(expect.objectContaining({ kind: "deactivate", state: "escalated" }));
    const acme = taskOf(settled, "acme-app")!;
    expect(acme.stepsDone.map((s) => [s.name, s.outcome])).toEqual([["revoke-sessions", "done"], ["suspend-user", "done"]]);
    expect(acme.evidence).toEqual(expect.objectContaining({ revoked: true, evidence: "GET /users/u-1 → active=false, sessions=0, tokens=0" }));
    expect(acme.lastError).toBeNull();
    expect(acme.nextAttemptAt).toBeNull();
    const broken = taskOf(settled, "broken-app")!;
    expect(broken.lastError).toEqual(expect.objectContaining({ kind: "auth", message: expect.stringMatching(/^find-account: GET .* answered 401$/) }));
    expect(broken.stepsDone).toEqual([]);
    expect(broken.resolution).toBeNull();
    expect(broken.nextAttemptAt).not.toBeNull();
    expect((await control.user("acme", "alice@example.com"))?.active).toBe(false);

    const human = await cli("status", "alice@example.com", "--connection", "demo");
    expect(human.code).toBe(0);
    expect(human.stderr).toBe("");
    const text = human.stdout;
    process.stdout.write(`status output:\n${text}\n`);
    expect(text).toMatch(/^alice@example.com in connection demo: 1 operation, newest first$/m);
    expect(text).toMatch(new RegExp(`^deactivate · escalated · created \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ \\(.+\\)$`, "m"));
    expect(text).toContain(`operation  ${settled.operations[0]!.id}`);
    expect(text).toMatch(/^ {2}acme-app \(fake-target\)$/m);
    expect(text).toMatch(/^ {4}state +verified /m);
    expect(text).toMatch(/^ {4}steps done +revoke-sessions \(observed\), suspend-user \(observed\)$/m);
    expect(text).toMatch(/^ {4}evidence +GET \/users\/u-1 → active=false, sessions=0, tokens=0 · revoked, /m);
    expect(text).toMatch(/^ {2}broken-app \(fake-target\)$/m);
    expect(text).toMatch(/^ {4}state +escalated$/m);
    expect(text).toMatch(/^ {4}last error +auth \((\d+s ago|just now)\): find-account: GET \/t\/broken\/users answered 401$/m);
    expect(text).toMatch(/^ {4}next attempt +in \d+m( \d+s)? \(re-probe\)$/m);
    expect(text).toContain(`task          ${broken.id}`);
    expect(text).toMatch(/scim-bridge task resolve <task> --note/);
    expect(Math.max(...text.split("\n").map((l) => l.length))).toBeLessThanOrEqual(100);
  }, 60_000);

  it("answers an unknown connection with the API's 404 message and hint on stderr, exit 1", async () => {
    const unknown = await cli("status", "alice@example.com", "--connection", "nope");
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe("");
    expect(unknown.stderr).toBe('error: no connection named "nope"\n  hint: list them: scim-bridge connection list\n');
  });

  it("retries an operation now, resolves the escalation with a note, and shows who resolved it", async () => {
    const before = await statusJson();
    const op = before.operations[0]!;
    const broken = taskOf(before, "broken-app")!;
    const retried = await cli("operation", "retry", op.id);
    expect(retried.code).toBe(0);
    expect(retried.stdout.trim()).toMatch(new RegExp(`^Retrying operation ${op.id} now \\(state escalated; tasks: .+\\)$`));
    // the escalated task ran again, failed the same way, and stays escalated
    await until("the retried task to fail again", statusJson, (s) => {
      const t = taskOf(s, "broken-app");
      return !!t?.lastError?.at && t.lastError.at > broken.lastError!.at! && new Date(t.nextAttemptAt ?? 0) > new Date();
    });

    const resolved = await cli("task", "resolve", broken.id, "--note", "removed by hand in the vendor console");
    expect(resolved.code).toBe(0);
    expect(resolved.stdout.trim()).toBe(`Resolved task ${broken.id}: removed by hand in the vendor console`);

    const after = await statusJson();
    expect(after.operations[0]!.state).toBe("verified");
    expect(taskOf(after, "broken-app")).toEqual(expect.objectContaining({
      state: "escalated", resolution: expect.objectContaining({ by: "bootstrap", note: "removed by hand in the vendor console" }), nextAttemptAt: null,
    }));
    const human = (await cli("status", "alice@example.com", "--connection", "demo")).stdout;
    expect(human).toMatch(/^deactivate · verified · created /m);
    expect(human).toMatch(/^ {4}state +escalated \(resolved by bootstrap: removed by hand in the vendor console\)$/m);
    expect(human).not.toMatch(/An escalation needs a person/);

    const again = await cli("task", "resolve", broken.id, "--note", "twice");
    expect(again.code).toBe(1);
    expect(again.stderr).toBe("error: this task is not an open escalation\n");
    const noNote = await cli("task", "resolve", broken.id);
    expect(noNote.code).toBe(1);
    expect(noNote.stderr).toMatch(/required option '--note <note>' not specified/);
  }, 60_000);

  it("reports support actions with nothing to act on as API errors with their hint", async () => {
    const op = (await statusJson()).operations[0]!;
    const retry = await cli("operation", "retry", op.id);
    expect(retry.code).toBe(1);
    expect(retry.stderr).toMatch(/^error: no open task of this operation to retry\n {2}hint: read its state: GET \/admin\/api\/operations\//);
    const approve = await cli("operation", "approve", op.id, "--note", "ok");
    expect(approve.code).toBe(1);
    expect(approve.stderr).toMatch(/^error: this operation is not held/);
    const notUuid = await cli("operation", "cancel", "42");
    expect(notUuid.code).toBe(1);
    expect(notUuid.stderr).toMatch(/^error: no operation "42"\n {2}hint: operation ids are UUIDs, as shown by scim-bridge status/);
    const held = await cli("held", "approve", "--connection", "demo", "--note", "nothing held");
    expect(held.code).toBe(0);
    expect(held.stdout.trim()).toBe("Approved 0 held operations in connection demo");
    const heldUnknown = await cli("held", "reject", "--connection", "nope");
    expect(heldUnknown.code).toBe(1);
    expect(heldUnknown.stderr).toMatch(/no connection named "nope"/);
  });
});
