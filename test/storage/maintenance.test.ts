import { runMaintenance } from "../../src/storage/maintenance.js";
import { testDb } from "../support/test-db.js";
import { scimHarness, userBody } from "../support/scim-app.js";

describe("storage maintenance", () => {
  it("gives the planner statistics and reclaims dead task rows, on either store", async () => {
    const h = await scimHarness({ db: await testDb() });
    try {
      for (let i = 0; i < 20; i++) await h.scim.post("/Users", userBody(`m${i}@example.com`)).expect(201);
      await runMaintenance(h.db);
      const stats = await h.db.query<{ reltuples: number }>("select reltuples from pg_class where relname = 'scim_users'");
      expect(Number(stats.rows[0]!.reltuples)).toBe(20);
      const vacuumed = await h.db.query<{ n: number }>("select count(*)::int as n from pg_stat_user_tables where relname = 'tasks' and (last_vacuum is not null or last_autovacuum is not null)");
      expect(vacuumed.rows[0]!.n).toBe(1);
    } finally {
      await h.close();
    }
  });
});
