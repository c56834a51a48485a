/**
 * The fake HTTP target: several independent tenants under `/t/:tenant/...`, each a `Tenant` with its
 * own users, mode and counters, and the control API under `/_control/:tenant/...` (`control-api.ts`).
 * node:http only, so it runs in-process in a test or as its own process (`main.ts`) in a crash test.
 *
 * Tenant API (bearer token set at seeding; a wrong one → 401):
 *   GET    /t/:tenant/users?userName=alice        → 200 UserView | 404
 *   GET    /t/:tenant/users/:id                   → 200 UserView | 404
 *   POST   /t/:tenant/users/:id/revoke-sessions   → 200 {revoked: n} (sessions + tokens it zeroed) | 404
 *   POST   /t/:tenant/users/:id/suspend           → 200 {id, active: false, wasActive} | 404
 *   DELETE /t/:tenant/users/:id                   → 204 | 404
 *   DELETE /t/:tenant/users/:id/teams/:team       → 204 | 404 (no user, or not a member)
 * Errors are JSON `{error}`; 429 carries `Retry-After` in seconds.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { checkSettings, ControlError, type RouteName, type SeedUser } from "./control-api.js";
import { Tenant, type Reply, type TenantRequest } from "./tenant.js";

export interface FakeTarget {
  /** `http://127.0.0.1:NNNN`; a tenant's API is under `${url}/t/<tenant>`. */
  url: string;
  server: Server;
  /** The tenants by name, created by their first control call. */
  tenants: Map<string, Tenant>;
  close(): Promise<void>;
}

/** Starts the fake target on `host:port` (Default: 127.0.0.1, an ephemeral port). */
export async function startFakeTarget(options: { port?: number; host?: string } = {}): Promise<FakeTarget> {
  const tenants = new Map<string, Tenant>();
  const server = createServer((req, res) => {
    handle(tenants, req, res).catch((error: unknown) => send(res, { status: 500, body: { error: String(error) } }));
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    server,
    tenants,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(tenants: Map<string, Tenant>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://fake-target");
  let segments: string[];
  try {
    segments = url.pathname.split("/").slice(1).map(decodeURIComponent);
  } catch {
    req.resume();
    return send(res, { status: 400, body: { error: "malformed path" } });
  }
  const [area, name] = segments;
  if (area === "_control" && name) return send(res, await control(tenants, name, segments.slice(2), req, url));
  req.resume(); // the tenant API reads no bodies
  const tenant = area === "t" && name ? tenants.get(name) : undefined;
  if (!tenant) return send(res, { status: 404, body: { error: area === "t" ? `unknown tenant ${name ?? ""}` : "no such route" } });
  const reply = tenant.handle(route(req.method ?? "GET", segments.slice(2), url, req.headers.authorization));
  if (tenant.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, tenant.latencyMs));
  send(res, reply);
}

/** Maps a tenant-API path (after `/t/:tenant`) to its route and parameters. */
function route(method: string, path: string[], url: URL, authorization: string | undefined): TenantRequest {
  const [users, id, action, team, ...rest] = path;
  const at = (route: RouteName, extra: Partial<TenantRequest> = {}): TenantRequest => ({ route, authorization, ...extra });
  if (users !== "users" || rest.length > 0) return at("other");
  if (id === undefined) return method === "GET" ? at("GET /users?userName", { userName: url.searchParams.get("userName") ?? "" }) : at("other");
  if (action === undefined) {
    if (method === "GET") return at("GET /users/:id", { id });
    if (method === "DELETE") return at("DELETE /users/:id", { id });
    return at("other");
  }
  if (team === undefined && method === "POST" && action === "revoke-sessions") return at("POST /users/:id/revoke-sessions", { id });
  if (team === undefined && method === "POST" && action === "suspend") return at("POST /users/:id/suspend", { id });
  if (team !== undefined && method === "DELETE" && action === "teams") return at("DELETE /users/:id/teams/:team", { id, team });
  return at("other");
}

async function control(tenants: Map<string, Tenant>, name: string, path: string[], req: IncomingMessage, url: URL): Promise<Reply> {
  let tenant = tenants.get(name);
  if (!tenant) tenants.set(name, (tenant = new Tenant(name)));
  const what = `${req.method ?? "GET"} ${path.join("/")}`;
  try {
    const body = await readJson(req);
    switch (what) {
      case "POST users": {
        const seed = body as { token?: unknown; users?: unknown } | undefined;
        if (!Array.isArray(seed?.users)) throw new ControlError("body must be {token?, users: [{userName, teams?, active?}]}");
        if (seed.token !== undefined && typeof seed.token !== "string") throw new ControlError("token must be a string");
        return { status: 200, body: { tenant: name, users: tenant.seed(seed.users as SeedUser[], seed.token) } };
      }
      case "GET users": {
        const user = tenant.truth(url.searchParams.get("userName") ?? "");
        return user ? { status: 200, body: user } : { status: 404, body: { error: "no such user" } };
      }
      case "PUT mode":
        return { status: 200, body: { tenant: name, settings: tenant.setMode(checkSettings(body)) } };
      case "GET stats":
        return { status: 200, body: tenant.snapshot() };
      case "POST reset": {
        const scope = (body as { what?: unknown } | undefined)?.what ?? "all";
        if (scope !== "all" && scope !== "stats") throw new ControlError('what must be "all" or "stats"');
        tenant.reset(scope);
        return { status: 200, body: { tenant: name, reset: scope } };
      }
      default:
        return { status: 404, body: { error: `no control route ${what}` } };
    }
  } catch (error) {
    if (error instanceof ControlError || error instanceof SyntaxError) return { status: 400, body: { error: error.message } };
    throw error;
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text === "" ? undefined : (JSON.parse(text) as unknown);
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.headersSent) return;
  const headers: Record<string, string> = { ...reply.headers };
  if (reply.body === undefined) {
    res.writeHead(reply.status, headers).end();
    return;
  }
  const text = JSON.stringify(reply.body);
  headers["content-type"] = "application/json";
  headers["content-length"] = String(Buffer.byteLength(text));
  res.writeHead(reply.status, headers).end(text);
}
