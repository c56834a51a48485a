import http from "node:http";
import type { AddressInfo } from "node:net";
import request from "supertest";
import { TargetError } from "../../src/connector-kit.js";
import { createAdminToken } from "../../src/storage/admin-tokens-repo.js";
import { fakeClock } from "../support/fake-clock.js";
import { fakeConnector } from "../support/fake-connector.js";
import { engineHarness, type EngineHarness } from "../support/engine-harness.js";

/** What the console reads: people search, the escalations queue, timelines, target health, the live feed. */
describe("/admin/api support views", () => {
  let h: EngineHarness;
  let viewer: string;
  let owner: string;
  const as = (token: string, path: string) => request(h.app).get(`/admin/api${path}`).set("Authorization", `Bearer ${token}`);

  beforeAll(async () => {
    const clock = fakeClock();
    const { connector } = fakeConnector({ clock, accounts: ["alice", "alan", "bob"].map((n) => ({ userName: `${n}@example.com` })) });
    const broken = {
      ...connector,
      id: "broken",
      findAccount: async () => {
        throw new TargetError("auth", "GET /users answered 401");
      },
    };
    h = await engineHarness({ connectors: [connector, broken], clock });
    await h.addTarget("crm", connector.id);
    await h.addTarget("wiki", "broken");
    viewer = (await createAdminToken(h.db, { name: "support", role: "viewer" })).token;
    owner = (await createAdminToken(h.db, { name: "owner", role: "app-owner" })).token;
    for (const [userName, externalId] of [["alice@example.com", "E-1"], ["alan@example.com", "E-2"], ["bob@example.com", "E-3"]] as const) {
      await h.createUser(userName, { externalId, emails: [{ value: userName.replace("@", ".work@"), primary: true }] });
    }
    const other = await h.other();
    await other.post("/Users", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: "alice@other.example" }).expect(201);
  });
  afterAll(() => h.close());

  describe("GET /people", () => {
    it("finds people by the start of their userName, across connections, with their latest state", async () => {
      const res = await as(viewer, "/people?q=al").expect(200);
      expect(res.body.people.map((p: { userName: string; connection: string }) => `${p.connection}/${p.userName}`)).toEqual([
        "acme/alan@example.com", "acme/alice@example.com", "other-1/alice@other.example",
      ]);
      expect(res.body.people[0]).toMatchObject({ active: true, externalId: "E-2", state: null, lastOperationAt: null });
    });

    it("finds a person by exact email or externalId, and within one connection", async () => {
      expect((await as(viewer, "/people?q=BOB.work@example.com").expect(200)).body.people.map((p: { userName: string }) => p.userName)).toEqual(["bob@example.com"]);
      expect((await as(viewer, "/people?q=E-1").expect(200)).body.people.map((p: { userName: string }) => p.userName)).toEqual(["alice@example.com"]);
      expect((await as(viewer, "/people?q=alice&connection=acme").expect(200)).body.people).toHaveLength(1);
      expect((await as(viewer, "/people?q=%25").expect(200)).body.people).toEqual([]); // a LIKE wildcard is a character, not "everyone"
    });

    it("refuses an empty query or a bad limit, and app-owner tokens", async () => {
      expect((await as(viewer, "/people?q=").expect(400)).body.error.message).toMatch(/^q is required/);
      await as(viewer, "/people?q=a&limit=500").expect(400);
      await as(owner, "/people?q=a").expect(403);
    });
  });

  it("shows a deactivation's timeline per task and the escalations queue with the last error", async () => {
    const id = (await as(viewer, "/people?q=bob@").expect(200)).body.people[0].id as string;
    await h.deactivate(id);
    await h.drain();
    const person = (await as(viewer, "/people?q=bob@").expect(200)).body.people[0];
    expect(person).toMatchObject({ active: false, state: "escalated", lastOperationAt: expect.any(String) });

    const ops = (await as(viewer, "/connections/acme/subjects/bob@example.com/operations").expect(200)).body.operations;
    const crm = ops[0].tasks.find((t: { target: { name: string } }) => t.target.name === "crm");
    expect(crm.timeline.map((e: { kind: string }) => e.kind)).toEqual(["queued", "account", "step", "step", "probe", "verified"]);
    expect(crm.timeline[1].summary).toMatch(/^account \S+ found$/);

    const queue = (await as(viewer, "/escalations").expect(200)).body.escalations;
    expect(queue).toEqual([expect.objectContaining({
      connection: "acme", subject: { id, userName: "bob@example.com" }, target: expect.objectContaining({ name: "wiki", kind: "broken" }),
      lastError: expect.objectContaining({ kind: "auth", message: "find-account: GET /users answered 401" }),
    })]);
    await h.admin.post(`/tasks/${queue[0].taskId}/resolve`, { note: "removed by hand" }).expect(200);
    expect((await as(viewer, "/escalations").expect(200)).body.escalations).toEqual([]);
  });

  it("gives each target its health: last success, error rate, open work, pause", async () => {
    const targets = (await as(viewer, "/targets").expect(200)).body.targets;
    const crm = targets.find((t: { name: string }) => t.name === "crm");
    const wiki = targets.find((t: { name: string }) => t.name === "wiki");
    expect(crm.health).toMatchObject({ lastSuccessAt: expect.any(String), errorRate24h: 0, openTasks: 0, openEscalations: 0, pausedUntil: null });
    expect(wiki.health).toMatchObject({ lastSuccessAt: null, errorRate24h: 1, openEscalations: 0 });
  });

  it("streams task changes as server-sent events to a listener with an admin token", async () => {
    const server = http.createServer(h.app).listen(0, "127.0.0.1");
    await new Promise((resolve) => server.once("listening", resolve));
    const { port } = server.address() as AddressInfo;
    const controller = new AbortController();
    try {
      const response = await fetch(`http://127.0.0.1:${port}/admin/api/events`, { headers: { authorization: `Bearer ${viewer}` }, signal: controller.signal });
      expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
      const reader = response.body!.getReader();
      const id = (await as(viewer, "/people?q=alan@").expect(200)).body.people[0].id as string;
      h.clock.advance(1_000);
      await h.deactivate(id);
      await h.drain();
      let text = "";
      while (!/event: task\ndata: .*"userName":"alan@example.com".*"state":"verified"/.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended:\n${text}`);
        text += new TextDecoder().decode(value);
      }
      expect(text).toMatch(/"connection":"acme"/);
      const refused = await fetch(`http://127.0.0.1:${port}/admin/api/events`, { headers: { authorization: `Bearer ${owner}` } });
      expect(refused.status).toBe(403);
    } finally {
      controller.abort();
      await new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
    }
  }, 20_000);
});
