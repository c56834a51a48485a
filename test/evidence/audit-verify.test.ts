import { randomUUID } from "node:crypto";
import { auditEntries, auditHash, parseCheckpoint, verifyAuditChain, verifyAuditExport, type AuditVerification } from "../../src/evidence/audit-chain.js";
import { auditHead, auditRowsAfter, MAINTENANCE_SETTING, parseSince, type AuditRow } from "../../src/storage/audit-repo.js";
import type { Db } from "../../src/storage/db.js";
import { testDb } from "../support/test-db.js";

/** Rolls back whatever `fn` did once verification has seen it: every test starts from the same intact log. */
class Rollback extends Error {
  constructor(readonly result: AuditVerification) {
    super("rollback");
  }
}

async function tampered(db: Db, fn: (tx: Db) => Promise<void>, options: { pin?: { seq: number; hash: string }; maintenance?: boolean } = {}): Promise<AuditVerification> {
  try {
    await db.transaction(async (tx) => {
      if (options.maintenance !== false) await tx.query("select set_config($1, 'on', true)", [MAINTENANCE_SETTING]);
      await fn(tx);
      throw new Rollback(await verifyAuditChain(tx, { pageRows: 7, ...(options.pin ? { pin: options.pin } : {}) }));
    });
  } catch (error) {
    if (error instanceof Rollback) return error.result;
    throw error;
  }
  throw new Error("unreachable");
}

/** The text with the character at `index` replaced by another one: one byte changed. */
const flip = (text: string, index: number) => text.slice(0, index) + (text[index] === "a" ? "b" : "a") + text.slice(index + 1);

const rowAt = async (db: Db, seq: number): Promise<AuditRow> => (await auditRowsAfter(db, seq - 1, 1))[0]!;
const set = (tx: Db, seq: number, column: string, value: unknown) => tx.query(`update audit_log set ${column} = $1 where seq = $2`, [value, seq]);

describe("audit verification names the first broken link", () => {
  let db: Db;
  let head: { seq: number; hash: string; at: string };
  const M = 20;

  beforeAll(async () => {
    db = await testDb();
    for (let i = 0; i < 40; i++) await db.query("insert into connections (id, name) values ($1, $2)", [randomUUID(), `conn-${i}`]);
    head = (await auditHead(db))!;
  });
  afterAll(() => db.close());

  it("passes an intact log, reading it a page at a time", async () => {
    const pages: number[] = [];
    const result = await verifyAuditChain(db, { pageRows: 7, onProgress: (p) => pages.push(p.seq) });
    expect(result).toEqual({ ok: true, checked: head.seq, head });
    expect(pages).toEqual([7, 14, 21, 28, 35, head.seq].filter((s) => s <= head.seq));
  });

  it.each([
    ["entry", "row 20: entry altered (its hash does not match its content)"],
    ["hash", "row 20: entry altered (its hash does not match its content)"],
    ["prev_hash", "row 20: prev_hash does not match row 19's hash (a row was inserted or deleted before it, or its prev_hash was altered)"],
    ["actor", 'row 20: its actor column ("aystem") differs from the actor its hash covers ("system"): the row was edited'],
    ["kind", "row 20: its kind column"],
  ])("fails when one byte of a middle row's %s changes", async (column, problem) => {
    const row = (await db.query<Record<string, string>>(`select ${column} as v from audit_log where seq = $1`, [M])).rows[0]!;
    const result = await tampered(db, (tx) => set(tx, M, column, flip(row.v!, column === "entry" ? 40 : 0)).then(() => {}));
    expect(result).toMatchObject({ ok: false, seq: M, checked: M - 1, problem: expect.stringContaining(problem) });
  });

  it("fails when a middle row's time moves by a microsecond", async () => {
    const result = await tampered(db, (tx) => tx.query("update audit_log set at = at + interval '1 microsecond' where seq = $1", [M]).then(() => {}));
    expect(result).toMatchObject({ ok: false, seq: M, problem: expect.stringMatching(/^row 20: its at column .* the row was edited$/) });
  });

  it("fails at any row whose entry changes by one byte, naming that row", async () => {
    for (let seq = 1; seq <= head.seq; seq++) {
      const row = await rowAt(db, seq);
      const result = await tampered(db, (tx) => set(tx, seq, "entry", flip(row.entry, seq % row.entry.length)).then(() => {}));
      expect(result).toMatchObject({ ok: false, seq });
    }
  });

  it("fails when a middle row is deleted, naming it", async () => {
    const result = await tampered(db, (tx) => tx.query("delete from audit_log where seq = $1", [M]).then(() => {}));
    expect(result).toMatchObject({ ok: false, seq: M, problem: "rows 19→21: row 20 is missing (deleted)" });
  });

  it("fails when several rows are deleted, naming the first", async () => {
    const result = await tampered(db, (tx) => tx.query("delete from audit_log where seq between $1 and $2", [M, M + 2]).then(() => {}));
    expect(result).toMatchObject({ ok: false, seq: M, problem: "rows 19→23: rows 20..22 are missing (deleted)" });
  });

  it("fails when the first row is deleted", async () => {
    const result = await tampered(db, (tx) => tx.query("delete from audit_log where seq = 1").then(() => {}));
    expect(result).toMatchObject({ ok: false, seq: 1, problem: "row 1 is missing (deleted): the log starts at row 2" });
  });

  it("fails when a row is deleted and the rows after it renumbered", async () => {
    const result = await tampered(db, async (tx) => {
      await tx.query("delete from audit_log where seq = $1", [M]);
      await tx.query("update audit_log set seq = -(seq - 1) where seq > $1", [M]);
      await tx.query("update audit_log set seq = -seq where seq < 0");
    });
    expect(result).toMatchObject({ ok: false, seq: M, problem: expect.stringContaining("row 20: prev_hash does not match row 19's hash") });
  });

  it("fails when a forged row is inserted in the middle with a correct hash, naming the forged row", async () => {
    const before = await rowAt(db, M - 1);
    const result = await tampered(db, async (tx) => {
      await tx.query("update audit_log set seq = -(seq + 1) where seq >= $1", [M]);
      await tx.query("update audit_log set seq = -seq where seq < 0");
      const entry = JSON.stringify({ seq: M, at: before.at, actor: "system", kind: "connection.created", data: { name: "forged" } });
      await tx.query("insert into audit_log (seq, at, actor, kind, entry, prev_hash, hash) values ($1, $2, 'system', 'connection.created', $3, $4, $5)", [
        M, before.at, entry, before.hash, auditHash(before.hash, entry),
      ]);
    });
    expect(result).toMatchObject({ ok: false, seq: M, problem: "row 20: inserted (row 21's prev_hash is row 19's hash, so row 20 was put in between)" });
  });

  it("fails when a row with a made-up hash is appended, whatever the append-only trigger says", async () => {
    const result = await tampered(db, async (tx) => {
      const entry = JSON.stringify({ seq: head.seq + 1, at: head.at, actor: "system", kind: "connection.created", data: {} });
      await tx.query("insert into audit_log (seq, at, actor, kind, entry, prev_hash, hash) values ($1, $2, 'system', 'connection.created', $3, $4, $5)", [
        head.seq + 1, head.at, entry, head.hash, "f".repeat(64),
      ]);
    }, { maintenance: false });
    expect(result).toMatchObject({ ok: false, seq: head.seq + 1, problem: expect.stringContaining("entry altered") });
  });

  it("fails when the append-only trigger is disabled and a row edited", async () => {
    const result = await tampered(db, async (tx) => {
      await tx.query("alter table audit_log disable trigger audit_log_append_only");
      await tx.query("update audit_log set actor = 'someone-else' where seq = $1", [M]);
    }, { maintenance: false });
    expect(result).toMatchObject({ ok: false, seq: M });
  });

  it("finds rows cut from the end only against a pinned checkpoint, and names the first one cut", async () => {
    const cut = (tx: Db) => tx.query("delete from audit_log where seq > $1", [head.seq - 2]).then(() => {});
    expect(await tampered(db, cut)).toMatchObject({ ok: true, checked: head.seq - 2 });
    expect(await tampered(db, cut, { pin: head })).toMatchObject({
      ok: false, seq: head.seq - 1, problem: `the log ends at row ${head.seq - 2}, but row ${head.seq} was pinned: rows ${head.seq - 1}..${head.seq} were deleted from its end`,
    });
  });

  it("finds a rewrite of every row from one on only against a pinned checkpoint", async () => {
    const rewrite = async (tx: Db) => {
      let prev = (await rowAt(tx, M - 1)).hash;
      for (let seq = M; seq <= head.seq; seq++) {
        const row = await rowAt(tx, seq);
        const entry = row.entry.replace(/"name": "conn-\d+"/, '"name": "rewritten"');
        const hash = auditHash(prev, entry);
        await tx.query("update audit_log set entry = $1, prev_hash = $2, hash = $3 where seq = $4", [entry, prev, hash, seq]);
        prev = hash;
      }
    };
    expect(await tampered(db, rewrite)).toMatchObject({ ok: true });
    expect(await tampered(db, rewrite, { pin: head })).toMatchObject({ ok: false, seq: head.seq, checked: head.seq - 1, problem: `row ${head.seq}: its hash differs from the pinned checkpoint (the log was rewritten up to there)` });
  });
});

describe("audit export", () => {
  let db: Db;

  beforeAll(async () => {
    db = await testDb();
    for (let i = 0; i < 25; i++) await db.query("insert into connections (id, name) values ($1, $2)", [randomUUID(), `conn-${i}`]);
  });
  afterAll(() => db.close());

  const lines = async (since?: string) => {
    const out: string[] = [];
    const parsed = parseSince(since);
    for await (const e of auditEntries(db, { pageRows: 4, ...(parsed ? { since: parsed } : {}) })) out.push(JSON.stringify(e));
    return out;
  };

  it("writes every entry with its parsed data and the exact hashed text, and the export verifies offline", async () => {
    const all = await lines();
    expect(all).toHaveLength(25);
    expect(JSON.parse(all[0]!)).toMatchObject({ seq: 1, actor: "system", kind: "connection.created", data: { name: "conn-0" }, prevHash: "0".repeat(64) });
    expect(await verifyAuditExport(all)).toEqual({ ok: true, checked: 25, head: await auditHead(db) });
  });

  it("starts after a seq, or at a time", async () => {
    expect((await lines("20")).map((l) => JSON.parse(l).seq)).toEqual([21, 22, 23, 24, 25]);
    const rows = await auditRowsAfter(db, 0, 100);
    const at = rows[10]!.at; // row 11's time; rows appended within the same clock tick share it
    expect(JSON.parse((await lines(at))[0]!).seq).toBe(rows.find((r) => r.at === at)!.seq);
    expect(JSON.parse((await lines(new Date(Date.parse(at) + 1).toISOString()))[0]!).seq).toBeGreaterThan(11);
    expect(await lines("2999-01-01T00:00:00Z")).toEqual([]);
    expect(() => parseSince("yesterday")).toThrow(/since must be a seq .* or an ISO time/);
  });

  it("verifies an export that starts mid-chain from its first row, and names a byte changed in it", async () => {
    const part = await lines("10");
    expect(await verifyAuditExport(part)).toMatchObject({ ok: true, checked: 15, trustedFrom: 11 });
    const edited = [...part];
    const e = JSON.parse(edited[3]!);
    edited[3] = JSON.stringify({ ...e, entry: flip(e.entry as string, 30) });
    expect(await verifyAuditExport(edited)).toMatchObject({ ok: false, seq: 14, problem: "row 14: entry altered (its hash does not match its content)" });
    expect(await verifyAuditExport([...part.slice(0, 3), ...part.slice(4)])).toMatchObject({ ok: false, seq: 14, problem: "rows 13→15: row 14 is missing (deleted)" });
  });

  it("reads checkpoints as seq:hash", () => {
    expect(parseCheckpoint(`12:${"ab".repeat(32)}`)).toEqual({ seq: 12, hash: "ab".repeat(32) });
    expect(() => parseCheckpoint("12:xyz")).toThrow(/<seq>:<hash>/);
  });
});
