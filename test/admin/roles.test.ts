/**
 * Every admin route, with a token of every role: the roles its OpenAPI row names get through the
 * role check, every other role is refused with 403 and the roles it would need. And the OpenAPI
 * table lists exactly the routes the express routers serve.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import request from "supertest";
import { ADMIN_API, type ApiRoute } from "../../src/admin/openapi.js";
import { ADMIN_ROLES, createAdminToken, type AdminRole } from "../../src/storage/admin-tokens-repo.js";
import { fakeClock } from "../support/fake-clock.js";
import { fakeConnector } from "../support/fake-connector.js";
import { engineHarness, type EngineHarness } from "../support/engine-harness.js";

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  name?: string;
}

/** The routes an express router serves (nested routers mounted at its root included), as "get /x/{y}". */
function servedRoutes(stack: Layer[]): string[] {
  return stack.flatMap((layer) => {
    if (layer.route) return Object.keys(layer.route.methods).filter((m) => m !== "_all").map((m) => `${m} ${layer.route!.path.replace(/:(\w+)/g, "{$1}")}`);
    return layer.handle?.stack ? servedRoutes(layer.handle.stack) : [];
  });
}

describe("admin API roles", () => {
  let h: EngineHarness;
  const tokens = {} as Record<AdminRole, string>;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    const clock = fakeClock();
    const { connector } = fakeConnector({ clock, accounts: [{ userName: "rita@example.com" }] });
    h = await engineHarness({ connectors: [connector], clock });
    for (const role of ADMIN_ROLES) tokens[role] = role === "admin" ? h.adminToken : (await createAdminToken(h.db, { name: `a-${role}`, role })).token;
    const target = await request(h.app).post("/admin/api/targets").set("Authorization", `Bearer ${tokens["app-owner"]}`)
      .send({ connection: "acme", name: "crm", kind: connector.id }).expect(201);
    ids.target = target.body.id;
    const userId = await h.createUser("rita@example.com");
    await h.deactivate(userId);
    await h.drain();
    const [task] = await h.tasks();
    ids.task = task!.id;
    ids.operation = task!.operationId;
  });
  afterAll(() => h.close());

  const pathOf = (r: ApiRoute) =>
    r.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
      if (name === "connection") return "acme";
      if (name === "userName") return "rita@example.com";
      if (name === "decision") return "approve";
      return ids[name] ?? "00000000-0000-4000-8000-000000000000"; // credential, id: a well-formed id of nothing
    }) + (r.query && Object.keys(r.query).some((q) => q.endsWith("*")) ? (r.path === "/people" ? "?q=rita" : "?status=held") : "");

  /** Sends the route's request as `role`; the streaming route is read only up to its status. */
  async function send(r: ApiRoute, role: AdminRole): Promise<{ status: number; message?: string }> {
    if (r.produces === "text/event-stream") {
      const server = http.createServer(h.app).listen(0, "127.0.0.1");
      await new Promise((resolve) => server.once("listening", resolve));
      const controller = new AbortController();
      try {
        const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/admin/api${pathOf(r)}`, { headers: { authorization: `Bearer ${tokens[role]}` }, signal: controller.signal });
        const body = res.status === 403 ? ((await res.json()) as { error: { message: string } }) : undefined;
        return { status: res.status, ...(body ? { message: body.error.message } : {}) };
      } finally {
        controller.abort();
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    }
    const res = await request(h.app)[r.method](`/admin/api${pathOf(r)}`).set("Authorization", `Bearer ${tokens[role]}`).send({});
    return { status: res.status, message: res.body?.error?.message };
  }

  const cases = ADMIN_API.flatMap((r) => ADMIN_ROLES.map((role) => [r.method.toUpperCase(), r.path, role, r] as const));
  it.each(cases)("%s %s as %s: allowed only for the roles it names", async (_m, _p, role, r) => {
    const allowed = role === "admin" || (r.roles as readonly string[]).includes(role);
    const { status, message } = await send(r, role);
    if (allowed) {
      expect({ status, message }).not.toEqual(expect.objectContaining({ status: 403, message: `role ${role} may not do this` }));
      expect(status).not.toBe(401);
      expect(message).not.toBe("no such admin route");
    } else {
      expect({ status, message }).toEqual({ status: 403, message: `role ${role} may not do this` });
    }
  });

  it("describes exactly the routes the admin routers serve", () => {
    const appRouter = (h.expressApp as unknown as { router: { stack: Layer[] } }).router;
    const admin = appRouter.stack.filter((l) => l.handle?.stack && servedRoutes(l.handle.stack).some((r) => r.includes("/whoami")));
    expect(admin).toHaveLength(1);
    const served = servedRoutes(admin[0]!.handle!.stack!).filter((r) => r !== "get /openapi.json");
    expect([...new Set(served)].sort()).toEqual(ADMIN_API.map((r) => `${r.method} ${r.path}`).sort());
  });

  it("serves its OpenAPI 3.1 description without a token", async () => {
    const res = await request(h.app).get("/admin/api/openapi.json").expect(200);
    expect(res.body.openapi).toBe("3.1.0");
    expect(res.body.paths["/targets/{target}"].patch["x-roles"]).toEqual(["admin", "app-owner"]);
  });
});
