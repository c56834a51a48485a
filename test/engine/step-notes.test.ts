import type { Connector } from "../../src/connector-kit.js";
import { engineHarness } from "../support/engine-harness.js";

/** Optional kit capabilities: steps note what they saw, verify knows its probe number, kinds warn at registration. */
describe("step notes, probe numbers and registration warnings", () => {
  it("records a step's evidence and token horizon, and numbers the probes", async () => {
    const probes: (number | undefined)[] = [];
    const expires = new Date("2026-01-05T10:00:00.000Z");
    const graph: Connector = {
      id: "graph",
      configFields: [{ name: "tenant", description: "the tenant" }],
      registrationWarnings: () => ["the IdP may also provision this directory: two writers"],
      async validate() {},
      findAccount: async () => ({ id: "u-1" }),
      plans: {
        deactivate: [{
          name: "revoke-sign-in-sessions",
          observable: false,
          async run(_account, ctx) {
            ctx.note?.({ evidence: "POST /users/u-1/revokeSignInSessions → 200 {value: true}", tokensExpireAt: expires });
            return "done";
          },
        }],
      },
      // a first 404 may be replication lag: believed from the second probe on
      async verify(_account, ctx) {
        probes.push(ctx.probe);
        return (ctx.probe ?? 1) >= 2 ? { revoked: true, evidence: "GET /users/u-1 → 404 twice" } : { revoked: false, evidence: "GET /users/u-1 → 404 (re-probed before it is believed)" };
      },
    };
    const h = await engineHarness({ connectors: [graph] });
    try {
      const made = await h.admin.post("/targets", { connection: "acme", name: "entra", kind: "graph", config: { tenant: "t" } }).expect(201);
      expect(made.body.warnings).toEqual(["the IdP may also provision this directory: two writers"]);
      const id = await h.createUser("noted@example.com");
      await h.deactivate(id);
      await h.drain();
      await h.tick(60_000, 3);
      const [task] = await h.tasks();
      expect(task!.state).toBe("verified");
      expect(probes).toEqual([1, 2]);
      expect(task!.steps).toEqual([expect.objectContaining({
        name: "revoke-sign-in-sessions", acknowledged: true,
        evidence: "POST /users/u-1/revokeSignInSessions → 200 {value: true}", tokensExpireAt: expires.toISOString(),
      })]);
    } finally {
      await h.close();
    }
  });
});
