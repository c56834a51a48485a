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

const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ops = (...Operations: Record<string, unknown>[]) => ({ schemas: [PATCH], Operations });

describe("SCIM fast lane PATCH", () => {
  let l: Lanes;
  /** Two users alike but for their userName: one is patched on the fast lane, its twin through express. */
  let twins: { fast: { id: string; userName: string }; express: { id: string; userName: string } };
  let groups: { fast: string; express: string };
  let memberId: string;

  beforeAll(async () => {
    l = await lanes({ publicUrl: "https://bridge.test" });
    const scim = scimClient(l.express, l.token);
    const user = async (userName: string) => {
      const res = await scim.post("/Users", userBody(userName, { name: { givenName: "Twin", familyName: "Tester" }, title: "Engineer" })).expect(201);
      return { id: res.body.id as string, userName };
    };
    twins = { fast: await user("twin-fast@example.com"), express: await user("twin-express@example.com") };
    memberId = (await user("member@example.com")).id;
    const group = async (displayName: string) => (await scim.post("/Groups", { schemas: [CORE_GROUP], displayName }).expect(201)).body.id as string;
    groups = { fast: await group("Ops"), express: await group("Ops") };
    l.fellBack.length = 0;
  });
  afterAll(async () => {
    await l.close();
  });

  /** The answer with the twin's own id, userName, times and location written as placeholders. */
  const normalised = (answer: Awaited<ReturnType<typeof seen>>, twin: { id: string; userName?: string }) =>
    JSON.parse(
      JSON.stringify(answer)
        .replaceAll(twin.id, "<id>")
        .replaceAll(twin.userName ?? "\u0000", "<userName>")
        .replace(/"(created|lastModified)":"[^"]+"/g, '"$1":"<time>"'),
    ) as unknown;

  const patchBoth = async (body: string, options: { contentType?: string; ifMatch?: string; query?: string; authorization?: string | null } = {}) => {
    const send = (app: RequestListener, id: string) => {
      let test = request(app).patch(`${SCIM_PATH}/Users/${id}${options.query ?? ""}`).set("Content-Type", options.contentType ?? SCIM_JSON);
      if (options.authorization !== null) test = test.set("Authorization", options.authorization ?? `Bearer ${l.token}`);
      if (options.ifMatch) test = test.set("If-Match", options.ifMatch);
      return seen(test.send(body));
    };
    const fast = await send(l.fast, twins.fast.id);
    const reference = await send(l.express, twins.express.id);
    return { fast: normalised(fast, twins.fast), reference: normalised(reference, twins.express), status: fast.status };
  };

  it.each([
    ["Okta's no-path deactivation", ops({ op: "replace", value: { active: false } }), 200],
    ["Entra's capitalised op with a \"True\" string", ops({ op: "Replace", path: "active", value: "True" }), 200],
    ["an RFC path assignment", ops({ op: "replace", path: "title", value: "Manager" }), 200],
    ["Entra's no-path object with paths for keys", ops({ op: "Replace", value: { "name.givenName": "Renamed", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "R&D" } }), 200],
    ["an add of an email by value path", ops({ op: "add", path: "emails", value: [{ type: "home", value: "home@example.com" }] }), 200],
    ["a remove", ops({ op: "remove", path: "title" }), 200],
    ["an op SCIMMY refuses", ops({ op: "explode", path: "title", value: "x" }), 400],
    ["an unknown attribute", ops({ op: "replace", path: "shoeSize", value: 9 }), 400],
    ["a body without Operations", { schemas: [PATCH] }, 400],
    ["a body that is not an object", [1, 2], 400],
  ])("applies %s as the express app does, without it", async (_name, body, status) => {
    const { fast, reference, status: got } = await patchBoth(JSON.stringify(body));
    expect(fast).toEqual(reference);
    expect(got).toBe(status);
    expect(l.fellBack).toEqual([]);
  });

  it("answers as the express app does for bodies that are not JSON, empty bodies, narrowed answers, stale ETags and no credentials", async () => {
    const cases = [
      ["{not json", {}],
      ["", {}],
      [JSON.stringify(ops({ op: "replace", path: "active", value: true })), { query: "?attributes=userName,active" }],
      [JSON.stringify(ops({ op: "replace", path: "active", value: false })), { ifMatch: 'W/"1"' }],
      [JSON.stringify(ops({ op: "replace", path: "active", value: false })), { authorization: null }],
      ["{not json", { authorization: null }],
      [JSON.stringify(ops({ op: "replace", path: "active", value: false })), { contentType: "application/json; charset=utf-8" }],
    ] as const;
    const statuses: number[] = [];
    for (const [body, options] of cases) {
      const { fast, reference, status } = await patchBoth(body, options);
      expect(fast).toEqual(reference);
      statuses.push(status);
    }
    expect(statuses).toEqual([400, 400, 200, 412, 401, 400, 200]);
    expect(l.fellBack).toEqual([]);
  });

  it("answers 404 for an unknown user as the express app does", async () => {
    const path = `${SCIM_PATH}/Users/00000000-0000-4000-8000-000000000000`;
    const body = JSON.stringify(ops({ op: "replace", path: "active", value: false }));
    const send = (app: RequestListener) => seen(request(app).patch(path).set("Authorization", `Bearer ${l.token}`).set("Content-Type", SCIM_JSON).send(body));
    const fast = await send(l.fast);
    expect(fast).toEqual(await send(l.express));
    expect(fast.status).toBe(404);
  });

  it("changes a group's members as the express app does: 204, then the same group", async () => {
    const steps = [
      ops({ op: "Add", path: "members", value: [{ value: memberId }] }),
      ops({ op: "Replace", path: "displayName", value: "Operations" }),
      ops({ op: "Remove", path: "members", value: [{ value: memberId }] }),
    ];
    for (const step of steps) {
      const send = (app: RequestListener, id: string) => seen(request(app).patch(`${SCIM_PATH}/Groups/${id}`).set("Authorization", `Bearer ${l.token}`).set("Content-Type", SCIM_JSON).send(JSON.stringify(step)));
      const fast = await send(l.fast, groups.fast);
      const reference = await send(l.express, groups.express);
      expect(normalised(fast, { id: groups.fast })).toEqual(normalised(reference, { id: groups.express }));
      expect(fast.status).toBe(204);
      const read = (id: string) => seen(request(l.express).get(`${SCIM_PATH}/Groups/${id}`).set("Authorization", `Bearer ${l.token}`));
      expect(normalised(await read(groups.fast), { id: groups.fast })).toEqual(normalised(await read(groups.express), { id: groups.express }));
    }
    expect(l.fellBack.filter((r) => r.startsWith("PATCH"))).toEqual([]);
  });

  it("records the change through the same seam as the express app (the engine's deactivation)", async () => {
    const scim = scimClient(l.fast, l.token);
    const created = await scimClient(l.express, l.token).post("/Users", userBody("seam@example.com")).expect(201);
    const res = await scim.patch(`/Users/${created.body.id}`, ops({ op: "replace", value: { active: false } })).expect(200);
    expect(res.body.active).toBe(false);
    expect(res.headers.etag).toBe('W/"2"');
    const stored = await request(l.express).get(`${SCIM_PATH}/Users/${created.body.id}`).set("Authorization", `Bearer ${l.token}`).expect(200);
    expect(stored.body.active).toBe(false);
    expect(l.fellBack).toEqual([]);
  });

  it.each([
    ["a gzip body", (t: request.Test) => t.set("Content-Type", SCIM_JSON).set("Content-Encoding", "gzip").send(Buffer.from("not really gzip"))],
    ["another charset", (t: request.Test) => t.set("Content-Type", "application/scim+json; charset=latin1").send("{}")],
    ["another media type", (t: request.Test) => t.set("Content-Type", "text/plain").send("{}")],
    ["a body over the limit", (t: request.Test) => t.set("Content-Type", SCIM_JSON).send(JSON.stringify({ pad: "x".repeat(1024 * 1024) }))],
  ])("hands a PATCH with %s to the express app", async (_name, shape) => {
    l.fellBack.length = 0;
    const res = await shape(request(l.fast).patch(`${SCIM_PATH}/Users/${twins.fast.id}`).set("Authorization", `Bearer ${l.token}`));
    expect(l.fellBack).toHaveLength(1);
    expect([400, 413, 415]).toContain(res.status);
  });

  it("hands a PATCH of an encoded id to the express app", async () => {
    l.fellBack.length = 0;
    await request(l.fast).patch(`${SCIM_PATH}/Users/%7Bweird%7D`).set("Authorization", `Bearer ${l.token}`).set("Content-Type", SCIM_JSON).send("{}");
    expect(l.fellBack).toEqual([`PATCH ${SCIM_PATH}/Users/%7Bweird%7D`]);
  });
});
