import express, { type Request, type Response } from "express";
import { auditEntries, parseCheckpoint, verifyAuditChain, type AuditCheckpoint, type AuditVerification } from "../evidence/audit-chain.js";
import type { Logger } from "../log.js";
import { adminActor, appendAudit, asActor, auditRowsAfter, auditStartAfter, parseSince, toExportEntry, type AuditSince } from "../storage/audit-repo.js";
import type { Db } from "../storage/db.js";
import { allow, principalOf } from "./admin-auth.js";
import { adminError } from "./admin-error.js";
import { handler } from "./route-kit.js";

export interface AuditRouteDeps {
  db: Db;
  log: Logger;
}

/** Entries per page of `GET /audit` (Default: 100, at most 1000). */
const PAGE_DEFAULT = 100;
const PAGE_MAX = 1000;
const NDJSON = "application/x-ndjson; charset=utf-8";

/** Writes one NDJSON line, waiting while the client is slower than the database. False: the client left. */
async function writeLine(res: Response, value: unknown): Promise<boolean> {
  if (res.destroyed || res.writableEnded) return false;
  if (!res.write(JSON.stringify(value) + "\n")) {
    await new Promise<void>((resolve) => {
      const done = () => {
        res.off("drain", done);
        res.off("close", done);
        resolve();
      };
      res.on("drain", done);
      res.on("close", done);
    });
  }
  return !res.destroyed;
}

/**
 * The audit log on `/admin/api` (README "Audit log"): a page, a streamed NDJSON export, and a
 * verification of the whole chain. All three are for operators (and admins): the log gathers every
 * person's events across connections, and paging through it is an export by another name, so a
 * viewer gets the per-person views instead. Exports and verifications are themselves appended to
 * the log (`audit.exported`, `audit.verified`), naming the admin token that asked.
 */
export function auditRoutes(deps: AuditRouteDeps): express.Router {
  const { db, log } = deps;
  const router = express.Router();
  const handle = handler(log);

  const sinceOf = (req: Request, res: Response): { ok: true; since: AuditSince | undefined } | { ok: false } => {
    try {
      return { ok: true, since: parseSince(typeof req.query.since === "string" ? req.query.since : undefined) };
    } catch (error) {
      adminError(res, 400, (error as Error).message, "?since=1234 (entries after seq 1234) or ?since=2025-06-01T00:00:00Z");
      return { ok: false };
    }
  };
  const record = (res: Response, kind: string, data: Record<string, unknown>) =>
    asActor(db, adminActor(principalOf(res).name), (tx) => appendAudit(tx, kind, data)).catch((error: unknown) => {
      log.error(`could not append ${kind} to the audit log`, { error });
    });

  /** `GET /audit?since=&limit=`: one page in seq order; `next` is the `since` of the following page (null: the end). */
  router.get("/audit", allow("operator"), handle(async (req, res) => {
    const since = sinceOf(req, res);
    if (!since.ok) return;
    const limit = req.query.limit === undefined ? PAGE_DEFAULT : Number(req.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > PAGE_MAX) return adminError(res, 400, `limit must be a whole number from 1 to ${PAGE_MAX}`);
    const rows = await auditRowsAfter(db, await auditStartAfter(db, since.since), limit);
    const last = rows[rows.length - 1];
    res.json({ entries: rows.map(toExportEntry), next: rows.length === limit && last ? String(last.seq) : null });
  }));

  /** `GET /audit/export?since=`: every entry from there on, one JSON object a line, streamed page by page. */
  router.get("/audit/export", allow("operator"), handle(async (req, res) => {
    const since = sinceOf(req, res);
    if (!since.ok) return;
    res.status(200).type(NDJSON);
    res.setHeader("cache-control", "no-store");
    let entries = 0;
    let lastSeq: number | null = null;
    let complete = false;
    try {
      for await (const entry of auditEntries(db, since.since ? { since: since.since } : {})) {
        if (!(await writeLine(res, entry))) break;
        entries++;
        lastSeq = entry.seq;
      }
      complete = !res.destroyed;
    } catch (error) {
      log.error("audit export failed part-way", { error, entries });
      await writeLine(res, { error: { status: 500, message: "the export stopped part-way; the bridge has logged why", hint: `resume with ?since=${lastSeq ?? 0}` } });
    }
    // Recorded before the end, so whoever reads the log after this answer finds the export in it.
    await record(res, "audit.exported", { since: typeof req.query.since === "string" ? req.query.since : null, entries, lastSeq, complete });
    res.end();
  }));

  /**
   * `GET /audit/verify[?pin=seq:hash][&progress=1]`: recomputes every link and hash. With
   * `progress`, NDJSON: `{"progress": {checked, seq}}` lines, then `{"result": …}`.
   */
  router.get("/audit/verify", allow("operator"), handle(async (req, res) => {
    let pin: AuditCheckpoint | undefined;
    if (typeof req.query.pin === "string" && req.query.pin !== "") {
      try {
        pin = parseCheckpoint(req.query.pin);
      } catch (error) {
        return adminError(res, 400, (error as Error).message, "pin the head a previous verification printed");
      }
    }
    const streaming = req.query.progress !== undefined && req.query.progress !== "0";
    const recordResult = async (result: AuditVerification) => {
      if (!result.ok) log.error("the audit chain is broken", { seq: result.seq, problem: result.problem });
      await record(res, "audit.verified", result.ok
        ? { ok: true, checked: result.checked, head: result.head }
        : { ok: false, checked: result.checked, seq: result.seq, problem: result.problem });
    };
    if (!streaming) {
      const result = await verifyAuditChain(db, pin ? { pin } : {});
      await recordResult(result);
      res.json(result);
      return;
    }
    res.status(200).type(NDJSON);
    let lastWrite = 0;
    let result: AuditVerification;
    try {
      result = await verifyAuditChain(db, {
        ...(pin ? { pin } : {}),
        onProgress: (progress) => {
          if (Date.now() - lastWrite < 500) return;
          lastWrite = Date.now();
          void writeLine(res, { progress });
        },
      });
    } catch (error) {
      log.error("audit verification failed part-way", { error });
      await writeLine(res, { error: { status: 500, message: "the verification stopped part-way; the bridge has logged why", hint: "retry; if it persists, check the bridge's log" } });
      res.end();
      return;
    }
    await recordResult(result);
    await writeLine(res, { result });
    res.end();
  }));

  return router;
}
