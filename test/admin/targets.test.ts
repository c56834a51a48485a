import request from "supertest";
import { TargetError, type Connector } from "../../src/connector-kit.js";
import { createAdminToken } from "../../src/storage/admin-tokens-repo.js";
import { engineHarness, type EngineHarness } from "../support/engine-harness.js";
import { CORE_GROUP } from "../support/scim-app.js";

interface VaultConfig {
  baseUrl: string;
  token: string;
  retries?: number;
}

/** A kind that needs its secret in clear to work, and says what it was given. */
const given: VaultConfig[] = [];
const vault: Connector<VaultConfig> = {
  id: "vault",
  configFields: [
    { name: "baseUrl", description: "The API root, https://…", required: true },
    { name: "token", description: "An API token", required: true, secret: true },
    { name: "retries", description: "How often to retry", type: "number" },
  ],
  checkConfig: (c) => (String(c.baseUrl).startsWith("https://") ? [] : ["config.baseUrl must be an https:// URL"]),
  async validate(ctx) {
    if (ctx.config.token !== "tok-1" && ctx.config.token !== "tok-2") throw new TargetError("auth", "the token is refused");
  },
  async findAccount(_subject, ctx) {
    given.push(ctx.config);
    return null;
  },
  plans: { deactivate: [] },
  verify: async () => ({ revoked: true, evidence: "n/a" }),
};

describe("/admin/api/targets: registration by app owners", () => {
  let h: EngineHarness;
  const tokens: Record<string, string> = {};
  const as = (who: string) => ({
    get: (path: string) => request(h.app).get(`/admin/api${path}`).set("Authorization", `Bearer ${tokens[who]}`),
    post: (path: string, body: object = {}) => request(h.app).post(`/admin/api${path}`).set("Authorization", `Bearer ${tokens[who]}`).send(body),
    patch: (path: string, body: object = {}) => request(h.app).patch(`/admin/api${path}`).set("Authorization", `Bearer ${tokens[who]}`).send(body),
  });
  const register = (who: string, name: string, extra: Record<string, unknown> = {}) =>
    as(who).post("/targets", { connection: "acme", name, kind: "vault", config: { baseUrl: "https://vault.test", token: "tok-1" }, ...extra });

  beforeAll(async () => {
    h = await engineHarness({ connectors: [vault as Connector] });
    for (const [name, role] of [["owner-a", "app-owner"], ["owner-b", "app-owner"], ["support", "viewer"], ["ops", "operator"]] as const) {
      tokens[name] = (await createAdminToken(h.db, { name, role })).token;
    }
    tokens.admin = h.adminToken;
  });
  afterAll(() => h.close());

  it("stores secret fields sealed, never answers them, and hands the connector the secret in clear", async () => {
    const res = await register("owner-a", "vault-a").expect(201);
    expect(res.body.config).toEqual({ baseUrl: "https://vault.test", token: "[secret]" });
    const row = await h.db.query<{ config: Record<string, unknown> }>("select config from targets where id = $1", [res.body.id]);
    expect(JSON.stringify(row.rows[0]!.config)).not.toContain("tok-1");
    expect(row.rows[0]!.config.token).toEqual({ $sealed: expect.stringMatching(/^v1\./) });

    const test = await as("owner-a").post(`/targets/${res.body.id}/test`).expect(200);
    expect(test.body.validate).toMatchObject({ ok: true });

    given.length = 0;
    const id = await h.createUser("sealed@example.com");
    await h.deactivate(id);
    await h.drain();
    expect(given).toEqual([{ baseUrl: "https://vault.test", token: "tok-1" }]);
    const [task] = await h.tasks("g.name = 'vault-a'");
    expect(task!.state).toBe("verified");
  });

  it.each([
    ["an unknown field", { baseUrl: "https://v", token: "t", colour: "red" }, "config.colour is not a field of kind vault; its fields: baseUrl, token, retries"],
    ["a missing required field", { baseUrl: "https://v" }, "config.token is required: An API token"],
    ["a field of the wrong type", { baseUrl: "https://v", token: "t", retries: "3" }, "config.retries must be a non-empty number: How often to retry"],
    ["what the kind's own check refuses", { baseUrl: "http://v", token: "t" }, "config.baseUrl must be an https:// URL"],
  ])("refuses %s with the problem and its fix, and stores nothing", async (_label, config, problem) => {
    const before = (await h.admin.get("/targets").expect(200)).body.targets.length;
    const res = await as("owner-a").post("/targets", { connection: "acme", name: "bad", kind: "vault", config }).expect(400);
    expect(res.body.error.message).toBe(problem);
    expect((await h.admin.get("/targets").expect(200)).body.targets).toHaveLength(before);
  });

  it("an app-owner token sees and manages only the targets it registered", async () => {
    const mine = (await register("owner-b", "vault-b").expect(201)).body;
    const theirs = (await as("owner-a").get("/targets").expect(200)).body.targets.map((t: { name: string }) => t.name);
    expect(theirs).toContain("vault-a");
    expect(theirs).not.toContain("vault-b");
    await as("owner-a").get(`/targets/${mine.id}`).expect(403);
    const refused = await as("owner-a").patch(`/targets/${mine.id}`, { enabled: false }).expect(403);
    expect(refused.body.error.message).toBe("target vault-b belongs to another app owner");
    await as("owner-a").post(`/targets/${mine.id}/test`).expect(403);
    await as("owner-b").patch(`/targets/${mine.id}`, { policy: { slaMs: 60_000 } }).expect(200);
    // support staff and operators read every target; they don't register or change them
    expect((await as("support").get("/targets").expect(200)).body.targets.map((t: { name: string }) => t.name)).toEqual(expect.arrayContaining(["vault-a", "vault-b"]));
    await as("support").get(`/targets/${mine.id}`).expect(200);
    await as("support").post("/targets", { connection: "acme", name: "x", kind: "vault" }).expect(403);
    await as("ops").patch(`/targets/${mine.id}`, { enabled: false }).expect(403);
    await as("admin").patch(`/targets/${mine.id}`, { enabled: true }).expect(200);
  });

  it("changes config fields by merging, sealing a new secret, and keeps the stored one otherwise", async () => {
    const t = (await register("owner-a", "vault-rotate").expect(201)).body;
    await as("owner-a").patch(`/targets/${t.id}`, { config: { token: "tok-2" } }).expect(200);
    const row = async () => (await h.db.query<{ config: Record<string, unknown> }>("select config from targets where id = $1", [t.id])).rows[0]!.config;
    const sealed = (await row()).token;
    expect(JSON.stringify(sealed)).not.toContain("tok-2");
    expect((await as("owner-a").post(`/targets/${t.id}/test`).expect(200)).body.validate.ok).toBe(true);
    const changed = await as("owner-a").patch(`/targets/${t.id}`, { config: { baseUrl: "https://vault2.test" } }).expect(200);
    expect(changed.body.config).toEqual({ baseUrl: "https://vault2.test", token: "[secret]" });
    expect((await row()).token).toEqual(sealed);
    const bad = await as("owner-a").patch(`/targets/${t.id}`, { config: { baseUrl: "ftp://x" } }).expect(400);
    expect(bad.body.error.message).toBe("config.baseUrl must be an https:// URL");
    expect((await row()).baseUrl).toBe("https://vault2.test");
  });

  it("a disabled target gets no new tasks", async () => {
    const t = (await register("owner-a", "vault-off").expect(201)).body;
    const off = await as("owner-a").patch(`/targets/${t.id}`, { enabled: false }).expect(200);
    expect(off.body.enabled).toBe(false);
    const id = await h.createUser("off@example.com");
    await h.deactivate(id);
    expect(await h.tasks("g.name = 'vault-off'")).toEqual([]);
    expect(await h.tasks("g.name = 'vault-a' and t.operation_id in (select id from operations where subject_id = $1)", [id])).toHaveLength(1);
  });

  it("maps IdP groups by displayName to their SCIM ids, and names a group that does not exist", async () => {
    const group = await h.scim.post("/Groups", { schemas: [CORE_GROUP], displayName: "Engineering" }).expect(201);
    const made = await register("owner-a", "vault-groups", { policy: { entitlements: { engineering: "eng-team" }, scopeGroups: ["Engineering"] } }).expect(201);
    expect(made.body.policy.entitlements).toEqual({ [group.body.id]: "eng-team" });
    expect(made.body.policy.scopeGroups).toEqual([group.body.id]);
    const res = await register("owner-a", "vault-nogroup", { policy: { entitlements: { Finance: "fin" } } }).expect(400);
    expect(res.body.error.message).toMatch(/^no group named "Finance" in this connection/);
  });
});
