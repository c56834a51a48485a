import { planFor, TargetError, type Account, type Intent, type Subject, type TargetContext } from "../../../src/connector-kit.js";
import connector, { type FakeTargetConfig } from "./connector.js";
import { fakeTargetControl, type FakeTargetControl, type ModeSettings, type SeedUser } from "./control-api.js";
import { plainContext, plainHttp } from "./plain-http.js";
import { startFakeTarget, type FakeTarget } from "./server.js";
import { targetErrorOf as errorOf } from "../target-error-of.js";

const subject = (userName: string): Subject => ({ connectionId: "c-1", id: `s-${userName}`, userName, emails: [] });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));


let target: FakeTarget;
let control: FakeTargetControl;
let tenants = 0;

beforeAll(async () => {
  target = await startFakeTarget();
  control = fakeTargetControl(target.url);
});
afterAll(async () => { await target.close(); });

/** A fresh tenant seeded with `users`, and contexts for its connector. */
async function tenant(users: SeedUser[], settings?: ModeSettings) {
  const name = `tenant-${++tenants}`;
  const token = `token-${name}`;
  const seeded = await control.seed(name, { token, users });
  if (settings) await control.setMode(name, settings);
  const config: FakeTargetConfig = { baseUrl: control.tenantUrl(name), token };
  const ctx = (intent: Intent = { kind: "deactivate" }, timeoutMs?: number): TargetContext<FakeTargetConfig> =>
    plainContext(config, intent, timeoutMs === undefined ? {} : { timeoutMs });
  const find = async (userName: string) => (await connector.findAccount(subject(userName), ctx()))!;
  const run = async (account: Account, intent: Intent = { kind: "deactivate" }) => {
    const outcomes: string[] = [];
    for (const step of planFor(connector, intent.kind)) outcomes.push(await step.run(account, ctx(intent)));
    return outcomes;
  };
  return { name, token, seeded, config, ctx, find, run, stats: () => control.stats(name), setMode: (s: ModeSettings) => control.setMode(name, s) };
}

describe("the fake target, through its connector over HTTP", () => {
  describe("honest", () => {
    it("finds an account by userName and answers null for an unknown one", async () => {
      const t = await tenant([{ userName: "alice" }, { userName: "bob" }]);
      expect(await connector.findAccount(subject("bob"), t.ctx())).toEqual({ id: t.seeded.users[1]!.id, data: { userName: "bob" } });
      expect(await connector.findAccount(subject("nobody"), t.ctx())).toBeNull();
    });

    it("deactivates by revoking sessions then suspending, and verify observes it with evidence", async () => {
      const t = await tenant([{ userName: "alice", sessions: 3, tokens: 2 }]);
      const account = await t.find("alice");
      expect(await connector.verify(account, t.ctx())).toEqual({ revoked: false, evidence: `GET /users/${account.id} → active=true, sessions=3, tokens=2` });
      expect(await t.run(account)).toEqual(["done", "done"]);
      expect(await connector.verify(account, t.ctx())).toEqual({ revoked: true, evidence: `GET /users/${account.id} → active=false, sessions=0, tokens=0` });
      expect((await t.stats()).effectsByUser.alice).toEqual({ id: account.id, effects: { "revoke-sessions": 1, "suspend-user": 1 }, duplicates: {}, ignored: {} });
    });

    it("deletes by revoking sessions then deleting, and verify observes the 404", async () => {
      const t = await tenant([{ userName: "alice" }]);
      const account = await t.find("alice");
      const intent: Intent = { kind: "delete" };
      expect(await connector.verify(account, t.ctx(intent))).toMatchObject({ revoked: false });
      expect(await t.run(account, intent)).toEqual(["done", "done"]);
      expect(await connector.verify(account, t.ctx(intent))).toEqual({ revoked: true, evidence: `GET /users/${account.id} → 404 (no such user)` });
      expect(await connector.findAccount(subject("alice"), t.ctx())).toBeNull();
      expect(await control.user(t.name, "alice")).toBeNull();
    });

    it("revokes one entitlement by removing the team, and verify observes it absent", async () => {
      const t = await tenant([{ userName: "alice", teams: ["eng", "ops"] }]);
      const account = await t.find("alice");
      const intent: Intent = { kind: "revoke-entitlement", entitlement: "eng" };
      expect(await connector.verify(account, t.ctx(intent))).toEqual({ revoked: false, evidence: `GET /users/${account.id} → teams=[eng, ops] (still in eng)` });
      expect(await t.run(account, intent)).toEqual(["done"]);
      expect(await connector.verify(account, t.ctx(intent))).toEqual({ revoked: true, evidence: `GET /users/${account.id} → teams=[ops] (not in eng)` });
      expect((await control.user(t.name, "alice"))?.active).toBe(true);
    });

    it("answers already-done to every step run a second time and counts the repeats as duplicates", async () => {
      const t = await tenant([{ userName: "alice", teams: ["eng"] }, { userName: "bob" }]);
      const alice = await t.find("alice");
      const bob = await t.find("bob");
      const eng: Intent = { kind: "revoke-entitlement", entitlement: "eng" };
      await t.run(alice);
      await t.run(alice, eng);
      await t.run(bob, { kind: "delete" });
      expect(await t.run(alice)).toEqual(["already-done", "already-done"]);
      expect(await t.run(alice, eng)).toEqual(["already-done"]);
      expect(await t.run(bob, { kind: "delete" })).toEqual(["already-done", "already-done"]);
      const stats = await t.stats();
      expect(stats.effectsByUser.alice).toMatchObject({
        effects: { "revoke-sessions": 1, "suspend-user": 1, "remove-from-team:eng": 1 },
        duplicates: { "revoke-sessions": 1, "suspend-user": 1, "remove-from-team:eng": 1 },
      });
      expect(stats.effectsByUser.bob).toMatchObject({ effects: { "revoke-sessions": 1, "delete-user": 1 }, duplicates: { "revoke-sessions": 1, "delete-user": 1 } });
      expect(stats.writes).toEqual({
        effects: { "revoke-sessions": 2, "suspend-user": 1, "remove-from-team": 1, "delete-user": 1 },
        duplicates: { "revoke-sessions": 2, "suspend-user": 1, "remove-from-team": 1, "delete-user": 1 },
        ignored: {},
      });
    });

    it("verifies without writing", async () => {
      const t = await tenant([{ userName: "alice" }]);
      const account = await t.find("alice");
      for (const intent of [{ kind: "deactivate" }, { kind: "delete" }, { kind: "revoke-entitlement", entitlement: "eng" }] as Intent[]) {
        await connector.verify(account, t.ctx(intent));
      }
      const stats = await t.stats();
      expect(stats.writes).toEqual({ effects: {}, duplicates: {}, ignored: {} });
      expect(stats.requests.byRoute).toEqual({ "GET /users?userName": 1, "GET /users/:id": 3 });
    });

    it("validates the token: a wrong one surfaces as an auth error", async () => {
      const t = await tenant([]);
      await expect(connector.validate(t.ctx())).resolves.toBeUndefined();
      const wrong = plainContext({ ...t.config, token: "wrong" });
      expect(await errorOf(connector.validate(wrong))).toMatchObject({ kind: "auth", detail: { status: 401 } });
      expect(await errorOf(connector.findAccount(subject("alice"), wrong))).toMatchObject({ kind: "auth" });
    });

    it("keeps tenants apart: own ids, tokens, state and counters", async () => {
      const a = await tenant([{ userName: "alice" }]);
      const b = await tenant([{ userName: "alice" }]);
      await a.run(await a.find("alice"));
      expect((await control.user(b.name, "alice"))?.active).toBe(true);
      expect((await b.stats()).writes.effects).toEqual({});
      const crossed = plainContext({ baseUrl: b.config.baseUrl, token: a.token });
      expect(await errorOf(connector.findAccount(subject("alice"), crossed))).toMatchObject({ kind: "auth" });
    });

    it("counts requests by route and by status", async () => {
      const t = await tenant([{ userName: "alice" }]);
      const account = await t.find("alice");
      await t.run(account, { kind: "delete" });
      await t.run(account, { kind: "delete" });
      await connector.findAccount(subject("alice"), t.ctx());
      const { requests } = await t.stats();
      expect(requests).toEqual({
        total: 6,
        byRoute: { "GET /users?userName": 2, "POST /users/:id/revoke-sessions": 2, "DELETE /users/:id": 2 },
        byStatus: { "200": 2, "204": 1, "404": 3 },
      });
    });
  });

  describe("modes", () => {
    it("eventual: reads show the state from before a write for lagMs, then the truth", async () => {
      const t = await tenant([{ userName: "alice" }, { userName: "bob" }], { mode: "eventual", lagMs: 300 });
      const alice = await t.find("alice");
      const bob = await t.find("bob");
      await t.run(alice);
      await t.run(bob, { kind: "delete" });
      expect(await connector.verify(alice, t.ctx())).toMatchObject({ revoked: false, evidence: expect.stringContaining("active=true, sessions=2, tokens=1") });
      expect(await connector.findAccount(subject("bob"), t.ctx())).toEqual(bob);
      expect((await control.user(t.name, "alice"))?.active).toBe(false);
      await sleep(350);
      expect(await connector.verify(alice, t.ctx())).toMatchObject({ revoked: true });
      expect(await connector.findAccount(subject("bob"), t.ctx())).toBeNull();
    });

    it("liar: answers every write 200 and changes nothing", async () => {
      const t = await tenant([{ userName: "alice", teams: ["eng"] }], { mode: "liar" });
      const alice = await t.find("alice");
      expect(await t.run(alice)).toEqual(["done", "done"]);
      expect(await t.run(alice, { kind: "delete" })).toEqual(["done", "done"]);
      expect(await connector.verify(alice, t.ctx())).toMatchObject({ revoked: false });
      expect(await control.user(t.name, "alice")).toMatchObject({ active: true, sessions: 2, tokens: 1, teams: ["eng"] });
      const stats = await t.stats();
      expect(stats.writes).toEqual({ effects: {}, duplicates: {}, ignored: { "revoke-sessions": 2, "suspend-user": 1, "delete-user": 1 } });
    });

    it("flaky with failEvery: exactly every Nth request answers a retryable 503", async () => {
      const t = await tenant([{ userName: "alice" }], { mode: "flaky", failEvery: 3 });
      const results: string[] = [];
      for (let i = 0; i < 9; i++) {
        results.push(await connector.findAccount(subject("alice"), t.ctx()).then(() => "ok", (e: TargetError) => `${e.kind} ${e.detail.status}`));
      }
      expect(results).toEqual(["ok", "ok", "retryable 503", "ok", "ok", "retryable 503", "ok", "ok", "retryable 503"]);
    });

    it("flaky with a failureRate: about that share fails, the same requests every run", async () => {
      const t = await tenant([{ userName: "alice" }]);
      const pattern = async () => {
        await t.setMode({ mode: "flaky", failureRate: 0.3, seed: 7 });
        const failed: boolean[] = [];
        for (let i = 0; i < 200; i++) failed.push(await connector.findAccount(subject("alice"), t.ctx()).then(() => false, () => true));
        return failed;
      };
      const first = await pattern();
      const share = first.filter(Boolean).length / first.length;
      expect(share).toBeGreaterThan(0.2);
      expect(share).toBeLessThan(0.4);
      expect(await pattern()).toEqual(first);
    });

    it("flaky with failAfterWrite: the write lands, then the answer is a 503", async () => {
      const t = await tenant([{ userName: "alice" }], { mode: "flaky", failEvery: 1, failAfterWrite: true });
      const alice = { id: t.seeded.users[0]!.id };
      const step = connector.plans.deactivate[0]!;
      expect(await errorOf(step.run(alice, t.ctx()))).toMatchObject({ kind: "retryable", detail: { status: 503 } });
      expect(await control.user(t.name, "alice")).toMatchObject({ sessions: 0, tokens: 0 });
      await t.setMode({ mode: "honest" });
      expect(await step.run(alice, t.ctx())).toBe("already-done");
      expect((await t.stats()).effectsByUser.alice).toMatchObject({ effects: { "revoke-sessions": 1 }, duplicates: { "revoke-sessions": 1 } });
    });

    it("rate-limited: past the burst, 429 with Retry-After in seconds, as rate-limited with retryAfterMs", async () => {
      const t = await tenant([{ userName: "alice" }], { mode: "rate-limited", limitPerSec: 5 });
      for (let i = 0; i < 5; i++) await connector.findAccount(subject("alice"), t.ctx());
      const refused = await errorOf(connector.findAccount(subject("alice"), t.ctx()));
      expect(refused).toMatchObject({ kind: "rate-limited", detail: { status: 429, retryAfterMs: 1000 } });
      const response = await fetch(`${t.config.baseUrl}/users?userName=alice`, { headers: { authorization: `Bearer ${t.token}` } });
      expect([response.status, response.headers.get("retry-after")]).toEqual([429, "1"]);
      expect((await t.stats()).rateLimit.tooManyRequests).toBe(2);
    });

    it("counts a request inside the announced Retry-After as a violation, and none after it", async () => {
      const t = await tenant([{ userName: "alice" }], { mode: "honest", limitPerSec: 2, retryAfterGraceMs: 0 });
      await connector.findAccount(subject("alice"), t.ctx());
      await connector.findAccount(subject("alice"), t.ctx());
      await errorOf(connector.findAccount(subject("alice"), t.ctx()));
      await errorOf(connector.findAccount(subject("alice"), t.ctx())); // too soon: a violation, and refused
      expect((await t.stats()).rateLimit).toMatchObject({ tooManyRequests: 2, retryAfterViolations: 1 });
      await sleep(1050);
      await expect(connector.findAccount(subject("alice"), t.ctx())).resolves.not.toBeNull();
      const { rateLimit } = await t.stats();
      expect(rateLimit).toMatchObject({ tooManyRequests: 2, retryAfterViolations: 1 });
      expect(Date.parse(rateLimit.window!.until) - Date.parse(rateLimit.window!.from)).toBeGreaterThanOrEqual(1000);
    });

    it("does not count requests already in flight when a 429 went out (the grace)", async () => {
      const t = await tenant([{ userName: "alice" }], { mode: "rate-limited", limitPerSec: 1, retryAfterGraceMs: 500 });
      await connector.findAccount(subject("alice"), t.ctx());
      await errorOf(connector.findAccount(subject("alice"), t.ctx()));
      await errorOf(connector.findAccount(subject("alice"), t.ctx()));
      expect((await t.stats()).rateLimit).toMatchObject({ retryAfterViolations: 0, inFlightAfter429: 1 });
    });

    it("down: every request answers a retryable 503, while the control API still works", async () => {
      const t = await tenant([{ userName: "alice" }]);
      const alice = await t.find("alice");
      await t.setMode({ mode: "down" });
      expect(await errorOf(connector.findAccount(subject("alice"), t.ctx()))).toMatchObject({ kind: "retryable", detail: { status: 503 } });
      expect(await errorOf(connector.plans.deactivate[1]!.run(alice, t.ctx()))).toMatchObject({ kind: "retryable" });
      expect(await errorOf(connector.verify(alice, t.ctx()))).toMatchObject({ kind: "retryable" });
      expect((await t.stats()).requests.byStatus).toEqual({ "200": 1, "503": 3 });
    });

    it("auth-broken: every request answers 401, as an auth error", async () => {
      const t = await tenant([{ userName: "alice" }], { mode: "auth-broken" });
      expect(await errorOf(connector.validate(t.ctx()))).toMatchObject({ kind: "auth", detail: { status: 401 } });
      expect(await errorOf(connector.verify({ id: t.seeded.users[0]!.id }, t.ctx()))).toMatchObject({ kind: "auth" });
    });

    it("already-gone: every lookup answers 404, so there is nothing to revoke and verify observes absence", async () => {
      const t = await tenant([{ userName: "alice" }]);
      const alice = await t.find("alice");
      await t.setMode({ mode: "already-gone" });
      expect(await connector.findAccount(subject("alice"), t.ctx())).toBeNull();
      expect(await t.run(alice)).toEqual(["already-done", "already-done"]);
      expect(await connector.verify(alice, t.ctx())).toMatchObject({ revoked: true });
      expect(await control.user(t.name, "alice")).toMatchObject({ active: true });
      expect((await t.stats()).writes.ignored).toEqual({ "revoke-sessions": 1, "suspend-user": 1 });
    });

    it("latencyMs delays answers, and a client timeout is retryable", async () => {
      const t = await tenant([{ userName: "alice" }], { mode: "honest", latencyMs: 300 });
      expect(await errorOf(connector.findAccount(subject("alice"), t.ctx({ kind: "deactivate" }, 50)))).toMatchObject({ kind: "retryable" });
    });
  });

  describe("the control API", () => {
    it("seeds 10,000 users in one request, in well under a second", async () => {
      const users = Array.from({ length: 10_000 }, (_, i) => ({ userName: `user${i}@bench.test`, teams: ["eng"] }));
      const started = performance.now();
      const t = await tenant(users);
      expect(performance.now() - started).toBeLessThan(1000);
      expect(t.seeded.users).toHaveLength(10_000);
      expect(await t.find("user9999@bench.test")).toEqual({ id: t.seeded.users[9999]!.id, data: { userName: "user9999@bench.test" } });
      expect((await t.stats()).userCount).toBe(10_000);
    });

    it("reseeding a userName resets that user and keeps its id", async () => {
      const t = await tenant([{ userName: "alice" }]);
      await t.run(await t.find("alice"), { kind: "delete" });
      const again = await control.seed(t.name, { users: [{ userName: "alice", active: false, sessions: 0, tokens: 0 }] });
      expect(again.users).toEqual(t.seeded.users);
      expect(await control.user(t.name, "alice")).toEqual({ id: t.seeded.users[0]!.id, userName: "alice", active: false, sessions: 0, tokens: 0, teams: [] });
    });

    it("refuses an unknown mode, a bad option and a seed without users with 400", async () => {
      const t = await tenant([]);
      const put = (body: unknown) => fetch(`${target.url}/_control/${t.name}/mode`, { method: "PUT", body: JSON.stringify(body) });
      expect((await put({ mode: "sideways" })).status).toBe(400);
      expect((await put({ mode: "flaky", failureRate: "lots" })).status).toBe(400);
      const seed = await fetch(`${target.url}/_control/${t.name}/users`, { method: "POST", body: JSON.stringify([{ userName: "x" }]) });
      expect(seed.status).toBe(400);
      expect((await t.stats()).settings).toEqual({ mode: "honest" });
    });

    it("reset forgets users, token and mode; a stats reset keeps them", async () => {
      const t = await tenant([{ userName: "alice" }], { mode: "liar" });
      await t.find("alice");
      await control.reset(t.name, "stats");
      expect((await t.stats()).requests.total).toBe(0);
      expect((await t.stats()).settings.mode).toBe("liar");
      await t.find("alice");
      await control.reset(t.name);
      expect(await t.stats()).toMatchObject({ userCount: 0, settings: { mode: "honest" }, requests: { total: 0 } });
      expect(await errorOf(connector.findAccount(subject("alice"), t.ctx()))).toMatchObject({ kind: "auth" });
    });

    it("answers 404 for an unknown tenant and an unknown route", async () => {
      const http = plainHttp();
      expect(await errorOf(http.request(`${target.url}/t/nobody/users?userName=a`))).toMatchObject({ kind: "permanent", detail: { status: 404 } });
      expect(await errorOf(http.request(`${target.url}/elsewhere`))).toMatchObject({ kind: "permanent", detail: { status: 404 } });
    });
  });

  describe("HTTP", () => {
    // Its speed is measured by `npm run bench:engine` (200 requests/s per tenant), not asserted here.
    it("serves three tenants concurrently, 25 requests in flight each, every lookup answered", async () => {
      const ts = await Promise.all([0, 1, 2].map(() => tenant(Array.from({ length: 100 }, (_, i) => ({ userName: `u${i}` })))));
      const found = await Promise.all(ts.map(async (t) => {
        const ctx = t.ctx();
        let n = 0;
        for (let wave = 0; wave < 20; wave++) {
          const accounts = await Promise.all(Array.from({ length: 25 }, (_, i) => connector.findAccount(subject(`u${(wave * 25 + i) % 100}`), ctx)));
          n += accounts.filter((a) => a !== null).length;
        }
        return n;
      }));
      expect(found).toEqual([500, 500, 500]);
      for (const t of ts) expect((await t.stats()).requests.total).toBe(500);
    });

    it("classifies a refused connection as retryable", async () => {
      const closed = await startFakeTarget();
      await closed.close();
      expect(await errorOf(plainHttp().request(`${closed.url}/t/x/users`))).toMatchObject({ kind: "retryable" });
    });
  });
});
