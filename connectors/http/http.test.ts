import { planFor, type Account, type Intent, type Subject, type TargetContext } from "../../src/connector-kit.js";
import { describeConformance } from "../../test/support/conformance.js";
import handWritten from "../../test/support/fake-target/connector.js";
import { plainContext } from "../../test/support/fake-target/plain-http.js";
import { listApiPeer } from "../../test/support/peers/rest-list-api.js";
import { restPeer, type HttpTargetConfig, type RestPeer } from "../../test/support/peers/rest-peer.js";
import connector, { definitionSteps, type HttpConfig } from "./index.js";
import { targetErrorOf as errorOf } from "../../test/support/target-error-of.js";

describe("with examples/fake-target.yaml against the fake REST target", () => {
  describeConformance(connector, () => restPeer());
});

describe("with examples/members-api.yaml against the members API fake", () => {
  describeConformance(connector, () => listApiPeer());
});


describe("the http kind driving the fake target as its hand-written connector does", () => {
  let peer: RestPeer;
  let people = 0;
  beforeAll(async () => { peer = await restPeer(); });
  afterAll(async () => { await peer.close(); });

  const ctx = (intent: Intent = { kind: "deactivate" }, config: HttpTargetConfig = peer.config) => plainContext(config as HttpConfig, intent);
  const seed = (teams: string[] = []) => peer.seedAccount({ userName: `person-${++people}`, entitlements: teams });
  const find = async (subject: Subject) => (await connector.findAccount(subject, ctx()))!;

  it("finds the account by userName, capturing its id and userName", async () => {
    const subject = await seed();
    const truth = (await peer.control.user(peer.tenant, subject.userName))!;
    expect(await connector.findAccount(subject, ctx())).toEqual({ id: truth.id, data: { userName: subject.userName } });
  });

  it("runs the definition's steps under one engine step per intent", () => {
    expect(planFor(connector, "deactivate").map((s) => s.name)).toEqual(["run-deactivate-plan"]);
    expect(planFor(connector, "delete").map((s) => s.name)).toEqual(["run-delete-plan"]);
    expect(planFor(connector, "revoke-entitlement").map((s) => s.name)).toEqual(["run-revoke-entitlement-plan"]);
    expect(definitionSteps(peer.config as HttpConfig, "deactivate").map((s) => s.name)).toEqual(["revoke-sessions", "suspend-user"]);
    expect(definitionSteps(peer.config as HttpConfig, "delete").map((s) => s.name)).toEqual(["revoke-sessions", "delete-user"]);
    expect(definitionSteps(peer.config as HttpConfig, "revoke-entitlement").map((s) => s.name)).toEqual(["remove-from-team"]);
  });

  it("answers done for each step that changed something and already-done on a repeat", async () => {
    const account = await find(await seed());
    const steps = definitionSteps(peer.config as HttpConfig, "deactivate");
    const run = async () => { const out: string[] = []; for (const step of steps) out.push(await step.run(account, ctx())); return out; };
    expect(await run()).toEqual(["done", "done"]);
    expect(await run()).toEqual(["already-done", "already-done"]);
    const [plan] = planFor(connector, "deactivate");
    expect(await plan!.run(account, ctx())).toBe("already-done");
  });

  it("logs each definition step's outcome with the account id", async () => {
    const account = await find(await seed());
    const lines: string[] = [];
    const context = { ...ctx(), log: { info: (line: string) => void lines.push(line) } } as unknown as TargetContext<HttpConfig>;
    expect(await planFor(connector, "deactivate")[0]!.run(account, context)).toBe("done");
    expect(lines).toEqual([`Definition step revoke-sessions done for account ${account.id}`, `Definition step suspend-user done for account ${account.id}`]);
  });

  test.each<[string, Intent, string[]]>([
    ["deactivate", { kind: "deactivate" }, []],
    ["delete", { kind: "delete" }, []],
    ["revoke-entitlement", { kind: "revoke-entitlement", entitlement: "eng" }, ["eng", "ops"]],
  ])("%s: the fake target sees the same writes and effects as from the hand-written connector, and verify agrees", async (_, intent, teams) => {
    const runBoth = async (which: "declarative" | "hand-written") => {
      const subject = await seed(teams);
      const handConfig = { baseUrl: peer.config.baseUrl, token: peer.config.secrets!.token! };
      const verifyWith = (account: Account) => (which === "declarative" ? connector.verify(account, ctx(intent)) : handWritten.verify(account, plainContext(handConfig, intent)));
      const account = which === "declarative" ? await find(subject) : (await handWritten.findAccount(subject, plainContext(handConfig)))!;
      const before = (await verifyWith(account)).revoked;
      if (which === "declarative") for (const step of definitionSteps(peer.config as HttpConfig, intent.kind)) await step.run(account, ctx(intent));
      else for (const step of planFor(handWritten, intent.kind)) await step.run(account, plainContext(handConfig, intent));
      const after = (await verifyWith(account)).revoked;
      const { effectsByUser } = await peer.control.stats(peer.tenant);
      const { id: _id, ...effects } = effectsByUser[subject.userName]!;
      return { before, after, effects };
    };
    const declarative = await runBoth("declarative");
    expect(declarative).toEqual(await runBoth("hand-written"));
    expect(declarative).toMatchObject({ before: false, after: true });
  });

  it("says what it observed: the status and the values its conditions read", async () => {
    const account = await find(await seed(["ops"]));
    const path = `GET /users/${account.id}`;
    expect(await connector.verify(account, ctx())).toEqual({ revoked: false, evidence: `${path} → 200, $.active=true, $.sessions=2, $.tokens=1` });
    for (const step of definitionSteps(peer.config as HttpConfig, "deactivate")) await step.run(account, ctx());
    expect(await connector.verify(account, ctx())).toEqual({ revoked: true, evidence: `${path} → 200, $.active=false, $.sessions=0, $.tokens=0` });
    const entitlement: Intent = { kind: "revoke-entitlement", entitlement: "eng" };
    expect(await connector.verify(account, ctx(entitlement))).toEqual({ revoked: true, evidence: `${path} → 200, $.teams=["ops"]` });
    for (const step of definitionSteps(peer.config as HttpConfig, "delete")) await step.run(account, ctx({ kind: "delete" }));
    expect(await connector.verify(account, ctx({ kind: "delete" }))).toEqual({ revoked: true, evidence: `${path} → 404` });
    expect(await connector.verify(account, ctx())).toEqual({ revoked: true, evidence: `${path} → 404` });
  });

  test.each([
    ["down", { mode: "down" as const }, "retryable", 503],
    ["auth-broken", { mode: "auth-broken" as const }, "auth", 401],
  ])("classifies a %s target by the default classifier, in steps and probes", async (_, mode, kind, status) => {
    const account = await find(await seed());
    await peer.control.setMode(peer.tenant, mode);
    try {
      for (const call of [definitionSteps(peer.config as HttpConfig, "deactivate")[0]!.run(account, ctx()), connector.verify(account, ctx())]) {
        const error = await errorOf(call);
        expect({ kind: error.kind, status: error.detail.status }).toEqual({ kind, status });
      }
    } finally {
      await peer.control.setMode(peer.tenant, { mode: "honest" });
    }
  });

  it("never puts the token in evidence or errors", async () => {
    const account = await find(await seed());
    const token = peer.config.secrets!.token!;
    const error = await errorOf(connector.validate(ctx(undefined, peer.badCredentials)));
    expect(error.kind).toBe("auth");
    const probe = await connector.verify(account, ctx());
    for (const text of [error.message, probe.evidence]) expect(text).not.toContain(token);
    expect(JSON.stringify(error.detail)).not.toContain(token);
  });

  it("refuses to run a config whose definition is invalid, naming the problem", async () => {
    const broken = { ...peer.config, definition: { ...peer.config.definition, validate: undefined } };
    const error = await errorOf(connector.validate(ctx(undefined, broken)));
    expect(error.kind).toBe("permanent");
    expect(error.message).toBe('the http definition is invalid: definition.validate is required: an object with a request and its conditions (see connectors/http/README.md "validate")');
  });
});
