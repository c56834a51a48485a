import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { TargetError, targetHttp } from "../../src/connector-kit.js";

/** ctx.http: the one place a target's HTTP answers become TargetErrors. */
describe("targetHttp", () => {
  let server: Server;
  let base: string;
  const seen: IncomingMessage[] = [];
  const bodies: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req);
      let body = "";
      req.on("data", (c) => (body += String(c)));
      req.on("end", () => {
        bodies.push(body);
        const path = new URL(req.url ?? "/", "http://x").pathname;
        if (path === "/slow") return void setTimeout(() => res.end("{}"), 500);
        if (path === "/limited") return void res.writeHead(429, { "retry-after": "7" }).end();
        if (path.startsWith("/users/")) return void res.writeHead(403).end('{"error": "no"}');
        res.writeHead(200, { "content-type": "application/json" }).end('{"ok": true}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const http = (log?: { debug(m: string, meta?: object): unknown }) => targetHttp({ signal: new AbortController().signal, timeoutMs: 200, ...(log ? { log } : {}) });
  const failure = async (p: Promise<unknown>) => (await p.then(() => { throw new Error("expected a failure"); }, (e: unknown) => e)) as TargetError;

  it("sends JSON with the connector's content type, its header names overriding the kit's whatever their case", async () => {
    await http().request(`${base}/scim/Users`, { method: "POST", json: { a: 1 }, contentType: "application/scim+json" });
    expect(seen.at(-1)!.headers["content-type"]).toBe("application/scim+json");
    await http().request(`${base}/x`, { method: "POST", json: { a: 1 }, headers: { "Content-Type": "application/vnd.api+json", Accept: "text/plain" } });
    expect(seen.at(-1)!.headers["content-type"]).toBe("application/vnd.api+json");
    expect(seen.at(-1)!.headers.accept).toBe("text/plain");
    expect(bodies.at(-1)).toBe('{"a":1}');
  });

  it("answers 429 as rate-limited with Retry-After in milliseconds", async () => {
    const error = await failure(http().request(`${base}/limited`));
    expect(error).toBeInstanceOf(TargetError);
    expect(error).toMatchObject({ kind: "rate-limited", detail: { status: 429, retryAfterMs: 7000 } });
  });

  it("a timeout is retryable, and says so", async () => {
    const error = await failure(http().request(`${base}/slow`));
    expect(error).toMatchObject({ kind: "retryable", message: "GET /slow timed out" });
  });

  it("keeps query strings and email-like path segments out of its messages and log lines", async () => {
    const lines: { message: string; meta?: object }[] = [];
    const error = await failure(http({ debug: (message, meta) => lines.push({ message, ...(meta ? { meta } : {}) }) }).request(`${base}/users/alice%40example.com`, { query: { token: "t0ps3cret" } }));
    expect(error).toMatchObject({ kind: "auth", message: "GET /users/{masked} answered 403" });
    expect(JSON.stringify(lines)).not.toMatch(/alice|t0ps3cret/);
    expect(lines).toEqual([{ message: "target request", meta: { request: "GET /users/{masked}", status: 403, ms: expect.any(Number) } }]);
  });
});
