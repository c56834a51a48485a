import { randomUUID } from "node:crypto";
import type pg from "pg";
import { auditEntries, verifyAuditChain } from "../../src/evidence/audit-chain.js";
import { createAdminToken } from "../../src/storage/admin-tokens-repo.js";
import { auditHead } from "../../src/storage/audit-repo.js";
import { createConnection } from "../../src/storage/connections-repo.js";
import type { Db } from "../../src/storage/db.js";
import { createTarget } from "../../src/storage/targets-repo.js";
import { testDb, testStore } from "../support/test-db.js";

const onPg = testStore() === "pg";

describe("audit appends from concurrent transactions", () => {
  let db: Db;

  beforeAll(async () => {
    db = await testDb();
  });
  afterAll(() => db.close());

  it("keep one linear chain, each transaction's entries side by side", async () => {
    const before = (await auditHead(db))?.seq ?? 0;
    const WRITERS = 4;
    const EACH = 25;
    await Promise.all(
      Array.from({ length: WRITERS }, (_, w) => (async () => {
        for (let i = 0; i < EACH; i++) {
          await db.transaction(async (tx) => {
            await createConnection(tx, `w${w}-${i}`);
            await createAdminToken(tx, { name: `w${w}-${i}`, role: "viewer" });
          });
        }
      })()),
    );
    const result = await verifyAuditChain(db);
    expect(result).toMatchObject({ ok: true, checked: before + WRITERS * EACH * 2 });
    const seqsByTx = new Map<string, number[]>();
    for await (const e of auditEntries(db, { since: { afterSeq: before } })) seqsByTx.set(e.tx!, [...(seqsByTx.get(e.tx!) ?? []), e.seq]);
    expect(seqsByTx.size).toBe(WRITERS * EACH);
    for (const seqs of seqsByTx.values()) expect(seqs[1]).toBe(seqs[0]! + 1);
  });

  (onPg ? it : it.skip)("never make a transaction wait for the audit lock while it holds row locks (PostgreSQL server only: PGlite has one connection)", async () => {
    const pool = (db as Db & { pool: pg.Pool }).pool;
    const c = await createConnection(db, `locks-${randomUUID().slice(0, 8)}`);
    const x = await createTarget(db, { connectionId: c.id, name: "x", kind: "fake" });
    const y = await createTarget(db, { connectionId: c.id, name: "y", kind: "fake" });
    const a = await pool.connect();
    const b = await pool.connect();
    const within = <T>(p: Promise<T>, what: string) =>
      Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} waited: a lock taken mid-transaction`)), 3_000).unref())]);
    try {
      await a.query("begin");
      await b.query("begin");
      await a.query("update targets set sla_ms = 1001 where id = $1", [x.id]); // A holds x (and would hold the audit lock if appends were immediate)
      await within(b.query("update targets set sla_ms = 2002 where id = $1", [y.id]), "B's update of y"); // B holds y
      const aOnY = a.query("update targets set sla_ms = 1001 where id = $1", [y.id]); // A waits for B's row lock on y
      await within(b.query("commit"), "B's commit"); // B appends at commit: the audit lock is free
      await within(aOnY, "A's update of y");
      await within(a.query("commit"), "A's commit");
    } finally {
      a.release();
      b.release();
    }
    const result = await verifyAuditChain(db);
    expect(result.ok).toBe(true);
    const updates: string[] = [];
    for await (const e of auditEntries(db)) if (e.kind === "target.updated") updates.push(`${e.data?.name}:${(e.data?.policy as { slaMs: number }).slaMs}`);
    expect(updates).toEqual(["y:2002", "x:1001", "y:1001"]);
  });
});
