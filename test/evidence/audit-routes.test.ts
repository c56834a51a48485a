import { randomUUID } from "node:crypto";
import express from "express";
import request from "supertest";
import { auditRoutes } from "../../src/admin/audit-routes.js";
import { adminAuth } from "../../src/admin/admin-auth.js";
import { verifyAuditExport } from "../../src/evidence/audit-chain.js";
import { silentLogger } from "../../src/log.js";
import { adminTokenWritesSettled, createAdminToken } from "../../src/storage/admin-tokens-repo.js";
import { auditHead, auditRowsAfter, MAINTENANCE_SETTING } from "../../src/storage/audit-repo.js";
import type { Db } from "../../src/storage/db.js";
import { testDb } from "../support/test-db.js";

/** Collects a streamed body as text, whatever its content type. */
const text = (res: request.Response, done: (error: Error | null, body: string) => void) => {
  let body = "";
  res.setEncoding("utf8");
  res.on("data", (chunk: string) => (body += chunk));
  res.on("end", () => done(null, body));
};
const ndjsonLines = (body: string) => body.split("\n").filter((l) => l !== "");

describe("the audit routes of /admin/api", () => {
  let db: Db;
  let app: express.Express;
  const tokens: Record<string, string> = {};
  const as = (role: string) => ({
    get: (path: string) => request(app).get(`/admin/api${path}`).set("Authorization", `Bearer ${tokens[role]}`),
  });

  beforeAll(async () => {
    db = await testDb();
    for (const role of ["viewer", "app-owner", "operator", "admin"] as const) tokens[role] = (await createAdminToken(db, { name: `the-${role}`, role })).token;
    for (let i = 0; i < 12; i++) await db.query("insert into connections (id, name) values ($1, $2)", [randomUUID(), `conn-${i}`]);
    const log = silentLogger();
    app = express();
    app.use("/admin/api", adminAuth(db, log), auditRoutes({ db, log }));
  });
  afterAll(async () => {
    await adminTokenWritesSettled();
    await db.close();
  });

  it.each(["/audit", "/audit/export", "/audit/verify"])("answers 403 to a viewer and an app owner on %s", async (path) => {
    for (const role of ["viewer", "app-owner"]) {
      const res = await as(role).get(path).expect(403);
      expect(res.body.error).toMatchObject({ message: `role ${role} may not do this`, hint: "use a token with role admin or operator" });
    }
  });

  it("pages in seq order; next is the since of the following page", async () => {
    const head = (await auditHead(db))!.seq;
    const first = await as("operator").get("/audit?limit=5").expect(200);
    expect(first.body.entries.map((e: { seq: number }) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(first.body).toMatchObject({ next: "5" });
    expect(first.body.entries[0]).toMatchObject({ actor: "system", kind: "admin-token.created", data: { name: "the-viewer", role: "viewer" }, prevHash: "0".repeat(64) });
    const last = await as("operator").get(`/audit?since=${head - 2}&limit=5`).expect(200);
    expect(last.body).toMatchObject({ next: null });
    expect(last.body.entries.map((e: { seq: number }) => e.seq)).toEqual([head - 1, head]);
  });

  it("answers 400 to a since that is neither a seq nor a time, and to a limit out of range", async () => {
    expect((await as("operator").get("/audit?since=last-tuesday").expect(400)).body.error.message).toMatch(/^since must be a seq/);
    expect((await as("operator").get("/audit?limit=0").expect(400)).body.error.message).toBe("limit must be a whole number from 1 to 1000");
    expect((await as("operator").get("/audit/verify?pin=12").expect(400)).body.error.message).toMatch(/<seq>:<hash>/);
  });

  it("streams the export as NDJSON that verifies offline, and appends the export to the log with its actor", async () => {
    const head = (await auditHead(db))!.seq;
    const res = await as("operator").get("/audit/export").buffer(true).parse(text).expect(200).expect("content-type", /application\/x-ndjson/);
    const lines = ndjsonLines(res.body as string);
    expect(lines).toHaveLength(head);
    expect(await verifyAuditExport(lines)).toMatchObject({ ok: true, checked: head });
    const [recorded] = await auditRowsAfter(db, head, 1);
    expect(recorded).toMatchObject({ seq: head + 1, kind: "audit.exported", actor: "admin:the-operator" });
    expect(JSON.parse(recorded!.entry).data).toEqual({ since: null, entries: head, lastSeq: head, complete: true });
    const since = await as("operator").get(`/audit/export?since=${head - 1}`).buffer(true).parse(text).expect(200);
    expect(ndjsonLines(since.body as string).map((l) => JSON.parse(l).seq)).toEqual([head, head + 1]);
  });

  it("verifies the chain, and streams progress then the result when asked", async () => {
    const res = await as("admin").get("/audit/verify").expect(200);
    expect(res.body).toMatchObject({ ok: true, head: { seq: res.body.checked } });
    const streamed = await as("operator").get("/audit/verify?progress=1").buffer(true).parse(text).expect(200);
    const lines = ndjsonLines(streamed.body as string).map((l) => JSON.parse(l));
    expect(lines[lines.length - 1]).toMatchObject({ result: { ok: true, checked: res.body.checked + 1 } });
    const [recorded] = await auditRowsAfter(db, res.body.checked, 1);
    expect(recorded).toMatchObject({ kind: "audit.verified", actor: "admin:the-admin" });
  });

  it("names the first broken row of a tampered log, and checks a pinned checkpoint", async () => {
    const head = (await auditHead(db))!;
    expect((await as("operator").get(`/audit/verify?pin=${head.seq}:${head.hash}`).expect(200)).body).toMatchObject({ ok: true });
    await db.transaction(async (tx) => {
      await tx.query("select set_config($1, 'on', true)", [MAINTENANCE_SETTING]);
      await tx.query("update audit_log set actor = 'nobody' where seq = 7");
    });
    const res = await as("operator").get("/audit/verify").expect(200);
    expect(res.body).toMatchObject({ ok: false, seq: 7, checked: 6, problem: expect.stringMatching(/^row 7: its actor column/), hint: expect.stringContaining("audit export") });
  });
});
