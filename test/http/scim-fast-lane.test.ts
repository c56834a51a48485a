import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { Writable } from "node:stream";
import request from "supertest";
import { createApp, SCIM_PATH, type AppDeps } from "../../src/http/app.js";
import { scimFastLane } from "../../src/http/scim-fast-lane.js";
import { createLogger, silentLogger } from "../../src/log.js";
import { createScimAuthenticator } from "../../src/scim/auth.js";
import { memoryRecorder } from "../../src/scim/changes.js";
import { createConnection } from "../../src/storage/connections-repo.js";
import { createBearerToken } from "../../src/storage/credentials-repo.js";
import type { Db } from "../../src/storage/db.js";
import { CORE_GROUP, SCIM_JSON, scimClient, userBody } from "../support/scim-app.js";
import { testDb } from "../support/test-db.js";

/**
 * The fast lane answers the IdPs' list lookups without express. The express app is the
 * reference: every request here goes both ways, and the answers must be the same.
 */

interface Lanes {
  /** The fast lane in front of the express app; `fellBack` lists what it handed over. */
  fast: RequestListener;
  express: RequestListener;
  fellBack: string[];
  token: string;
  db: Db & { failing: boolean };
  lines: Record<string, unknown>[];
  close(): Promise<void>;
}

/** A database whose queries can be made to fail, as when the server goes away. */
function breakable(db: Db): Db & { failing: boolean } {
  const wrapped = Object.create(db) as Db & { failing: boolean };
  wrapped.failing = false;
  wrapped.query = (async (text: string, values?: readonly unknown[]) => {
    if (wrapped.failing) throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
    return db.query(text, values);
  }) as Db["query"];
  return wrapped;
}

async function lanes(options: { publicUrl?: string } = {}): Promise<Lanes> {
  const db = breakable(await testDb());
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({ write(chunk, _enc, cb) { lines.push(...String(chunk).split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)); cb(); } });
  const log = options.publicUrl === undefined ? createLogger("info", stream) : silentLogger();
  const connection = await createConnection(db, "acme");
  const { token } = await createBearerToken(db, connection.id, "test");
  const authenticator = createScimAuthenticator(db, log);
  const deps: AppDeps = {
    db,
    log,
    authenticator,
    recorder: memoryRecorder(),
    limits: { maxResults: 1000, bulkMaxOperations: 100, maxBodyBytes: 1024 * 1024 },
    publicUrl: options.publicUrl,
  };
  const app = createApp(deps);
  const fellBack: string[] = [];
  const fallback: RequestListener = (req: IncomingMessage, res: ServerResponse) => {
    fellBack.push(`${req.method} ${req.url}`);
    app(req, res);
  };
  const fast = scimFastLane({ ...deps, log: log.child({ module: "scim" }), httpLog: log.child({ module: "http" }), scimPath: SCIM_PATH }, fallback);
  return {
    fast,
    express: app,
    fellBack,
    token,
    db,
    lines,
    async close() {
      await authenticator.settled();
      await db.close();
    },
  };
}

/** What a client can see of an answer: status, the headers that differ by route, and the body. */
async function seen(test: request.Test) {
  const res = await test;
  return {
    status: res.status,
    contentType: res.headers["content-type"],
    wwwAuthenticate: res.headers["www-authenticate"],
    location: res.headers.location,
    etag: res.headers.etag,
    body: res.body as unknown,
  };
}

const LOOKUPS: [string, string][] = [
  ["a userName filter that matches", `/Users?filter=${encodeURIComponent('userName eq "Alice@Example.com"')}`],
  ["a userName filter that matches nobody", `/Users?filter=${encodeURIComponent('userName eq "nobody@example.com"')}&startIndex=1&count=100`],
  ["an externalId filter", `/Users?filter=${encodeURIComponent('externalId eq "ext-bob"')}`],
  ["an emails value-path filter", `/Users?filter=${encodeURIComponent('emails[type eq "work"].value eq "bob@example.com"')}`],
  ["the whole list, sorted and paged", "/Users?sortBy=userName&sortOrder=descending&startIndex=2&count=1"],
  ["the whole list, no query", "/Users"],
  ["a narrowed answer (SCIMMY's out schema)", "/Users?attributes=userName,active"],
  ["excluded attributes", "/Users?excludedAttributes=groups,emails"],
  ["a Group displayName filter", `/Groups?filter=${encodeURIComponent('displayName eq "Engineering"')}`],
  ["Groups without members (Entra)", "/Groups?excludedAttributes=members"],
  ["a malformed filter", `/Users?filter=${encodeURIComponent('userName eq "a" and (')}`],
  ["an unknown attribute in a filter", `/Users?filter=${encodeURIComponent('shoeSize eq "9"')}`],
  ["a count that is not a number", "/Users?count=ten"],
  ["a filter given twice", `/Users?filter=${encodeURIComponent('userName eq "a"')}&filter=${encodeURIComponent('userName eq "b"')}`],
  ["an unknown sortOrder", "/Users?sortOrder=sideways"],
  ["unknown attributes to return", "/Users?attributes=nosuchthing"],
];

describe("SCIM fast lane", () => {
  let l: Lanes;
  beforeAll(async () => {
    l = await lanes({ publicUrl: "https://bridge.test" });
    const scim = scimClient(l.express, l.token);
    const alice = await scim.post("/Users", userBody("alice@example.com", { emails: [{ type: "work", value: "alice@example.com", primary: true }] })).expect(201);
    await scim.post("/Users", userBody("bob@example.com", { externalId: "ext-bob", emails: [{ type: "work", value: "bob@example.com" }] })).expect(201);
    await scim.post("/Users", userBody("carol@example.com", { active: false })).expect(201);
    await scim.post("/Groups", { schemas: [CORE_GROUP], displayName: "Engineering", members: [{ value: alice.body.id }] }).expect(201);
    l.fellBack.length = 0;
  });
  afterAll(async () => {
    await l.close();
  });

  it.each(LOOKUPS)("answers %s as the express app does, without it", async (_name, path) => {
    const fast = await seen(request(l.fast).get(SCIM_PATH + path).set("Authorization", `Bearer ${l.token}`));
    const reference = await seen(request(l.express).get(SCIM_PATH + path).set("Authorization", `Bearer ${l.token}`));
    expect(fast).toEqual(reference);
    expect(fast.contentType).toBe("application/scim+json; charset=utf-8");
    expect(l.fellBack).toEqual([]);
  });

  it("finds the user an IdP looks up, whatever the case of the userName", async () => {
    const res = await request(l.fast).get(`${SCIM_PATH}/Users?filter=${encodeURIComponent('userName eq "ALICE@example.COM"')}`).set("Authorization", `Bearer ${l.token}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(expect.objectContaining({ totalResults: 1, itemsPerPage: 1, startIndex: 1 }));
    expect(res.body.Resources[0]).toEqual(expect.objectContaining({ userName: "alice@example.com", groups: [expect.objectContaining({ display: "Engineering" })] }));
    expect(res.body.Resources[0].meta.location).toBe(`https://bridge.test/scim/v2/Users/${res.body.Resources[0].id}`);
  });

  it.each([
    ["no Authorization header", undefined],
    ["an unknown bearer token", "Bearer scb_0000000000000000000000000000000000000000000"],
    ["an unsupported scheme", "Digest username=x"],
  ])("refuses %s with the same 401 and WWW-Authenticate", async (_name, authorization) => {
    const send = (app: RequestListener) => {
      const test = request(app).get(`${SCIM_PATH}/Users?filter=${encodeURIComponent('userName eq "alice@example.com"')}`);
      return seen(authorization ? test.set("Authorization", authorization) : test);
    };
    const fast = await send(l.fast);
    expect(fast).toEqual(await send(l.express));
    expect(fast.status).toBe(401);
    expect(fast.wwwAuthenticate).toBe('Bearer realm="scim-bridge"');
    expect(l.fellBack).toEqual([]);
  });

  it("answers 503 as the express app does when the database fails after authentication", async () => {
    const path = `${SCIM_PATH}/Users?filter=${encodeURIComponent('userName eq "alice@example.com"')}`;
    await request(l.fast).get(path).set("Authorization", `Bearer ${l.token}`).expect(200); // the token is now remembered
    l.db.failing = true;
    try {
      const fast = await seen(request(l.fast).get(path).set("Authorization", `Bearer ${l.token}`));
      expect(fast).toEqual(await seen(request(l.express).get(path).set("Authorization", `Bearer ${l.token}`)));
      expect(fast.status).toBe(503);
      expect(JSON.stringify(fast.body)).not.toMatch(/ECONNREFUSED|5432|select/i);
    } finally {
      l.db.failing = false;
    }
  });

  it.each([
    ["a read by id", (app: RequestListener, token: string) => request(app).get(`${SCIM_PATH}/Users/00000000-0000-4000-8000-000000000000`).set("Authorization", `Bearer ${token}`)],
    ["another spelling of the path", (app: RequestListener, token: string) => request(app).get(`${SCIM_PATH}/users?count=1`).set("Authorization", `Bearer ${token}`)],
    ["a trailing slash", (app: RequestListener, token: string) => request(app).get(`${SCIM_PATH}/Users/?count=1`).set("Authorization", `Bearer ${token}`)],
    ["a GET with a body", (app: RequestListener, token: string) => request(app).get(`${SCIM_PATH}/Users`).set("Authorization", `Bearer ${token}`).set("Content-Type", SCIM_JSON).send("{not json")],
    ["a HEAD", (app: RequestListener, token: string) => request(app).head(`${SCIM_PATH}/Users`).set("Authorization", `Bearer ${token}`)],
    ["a POST", (app: RequestListener, token: string) => request(app).post(`${SCIM_PATH}/Users`).set("Authorization", `Bearer ${token}`).set("Content-Type", SCIM_JSON).send(JSON.stringify(userBody("dave@example.com")))],
    ["discovery", (app: RequestListener, token: string) => request(app).get(`${SCIM_PATH}/ServiceProviderConfig`).set("Authorization", `Bearer ${token}`)],
  ])("hands %s to the express app", async (_name, send) => {
    l.fellBack.length = 0;
    const res = await send(l.fast, l.token);
    expect(l.fellBack).toHaveLength(1);
    expect(res.status).toBeLessThan(500);
  });
});

describe("SCIM fast lane without PUBLIC_URL", () => {
  it("takes meta.location from the Host header, and logs the request line the express app logs", async () => {
    const l = await lanes();
    try {
      const scim = scimClient(l.fast, l.token);
      await scim.post("/Users", userBody("erin@example.com")).expect(201);
      const path = `${SCIM_PATH}/Users?filter=${encodeURIComponent('userName eq "erin@example.com"')}`;
      l.lines.length = 0;
      const fast = await request(l.fast).get(path).set("Host", "bridge.internal:8080").set("Authorization", `Bearer ${l.token}`).expect(200);
      const reference = await request(l.express).get(path).set("Host", "bridge.internal:8080").set("Authorization", `Bearer ${l.token}`).expect(200);
      expect(fast.body).toEqual(reference.body);
      expect(fast.body.Resources[0].meta.location).toMatch(/^http:\/\/bridge\.internal:8080\/scim\/v2\/Users\/[0-9a-f-]{36}$/);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const logged = l.lines.filter((line) => line.message === "request" && line.method === "GET").map(({ timestamp: _t, durationMs, ...rest }) => ({ ...rest, durationMs: typeof durationMs }));
      expect(logged).toHaveLength(2);
      expect(logged[0]).toEqual(logged[1]);
      expect(logged[0]).toEqual({ level: "info", message: "request", module: "http", method: "GET", path: "/scim/v2/Users", status: 200, connectionId: expect.any(String), queryKeys: ["filter"], durationMs: "number" });
      expect(JSON.stringify(l.lines)).not.toContain("erin@example.com");
      expect(l.fellBack).toEqual([`POST ${SCIM_PATH}/Users`]);
    } finally {
      await l.close();
    }
  });
});
