import type { Connector } from "../../src/connector-kit.js";
import { engineHarness } from "../support/engine-harness.js";

/** policy.maxRequestsPerSec reaches kinds that talk to their target outside ctx.http (databases, directories). */
describe("ctx.throttle", () => {
  it("paces a kind's own connections by the target's maxRequestsPerSec", async () => {
    const calls: number[] = [];
    const directory: Connector = {
      id: "directory",
      configFields: [{ name: "url", description: "where" }],
      async validate() {},
      findAccount: async () => ({ id: "a-1" }),
      plans: {
        deactivate: [{
          name: "lock-account",
          async run(_account, ctx) {
            expect(ctx.throttle).toEqual(expect.any(Function));
            // 15 connections at 20/s with a burst of 10: the last 5 wait a twentieth of a second each
            for (let i = 0; i < 15; i++) {
              await ctx.throttle!();
              calls.push(performance.now());
            }
            return "done";
          },
        }],
      },
      verify: async () => ({ revoked: true, evidence: "locked" }),
    };
    const h = await engineHarness({ connectors: [directory] });
    try {
      await h.addTarget("ldap-main", "directory", { maxRequestsPerSec: 20 });
      const id = await h.createUser("paced@example.com");
      await h.deactivate(id);
      await h.drain();
      const [task] = await h.tasks();
      expect(task!.state).toBe("verified");
      expect(calls).toHaveLength(15);
      expect(calls.at(-1)! - calls[0]!).toBeGreaterThanOrEqual(200); // never faster than the limit allows
    } finally {
      await h.close();
    }
  });
});
