import express, { type Request, type RequestHandler, type Response } from "express";
import { getOperation } from "../engine/admin.js";
import type { ReceiptIssuer } from "../evidence/receipt-issuer.js";
import { receiptJwks, rotateReceiptKey } from "../evidence/keys.js";
import { completeness, type IssueOutcome } from "../evidence/receipts.js";
import type { Logger } from "../log.js";
import type { Db } from "../storage/db.js";
import { findReceipt, listReceiptKeys, receiptFacts } from "../storage/receipts-repo.js";
import { isUuid } from "../storage/uuid.js";
import { allow, principalOf } from "./admin-auth.js";
import type { SecretBox } from "../secret-box.js";
import { adminError } from "./admin-error.js";
import { actorDb, handler } from "./route-kit.js";

export interface ReceiptRouteDeps {
  db: Db;
  log: Logger;
  /**
   * Issues a complete operation's receipt on request, so a download never waits for the next
   * sweep (Default: none: only receipts the issuer has stored are served).
   */
  issuer?: Pick<ReceiptIssuer, "issue">;
  /** Seals a new signing key; absent: keys cannot be rotated here. */
  box?: SecretBox;
}

/** The media type of a compact JWS (RFC 7515 §9.2.1). */
export const JOSE_MEDIA_TYPE = "application/jose";

const HINT = "a receipt is issued once every task is verified, or escalated and resolved by a person: see scim-bridge status";

/** What an operation without a stored receipt would get, read without issuing. */
async function lookUp(db: Db, id: string): Promise<IssueOutcome> {
  const stored = await findReceipt(db, id);
  if (stored) return { outcome: "exists", receipt: stored };
  const [op, facts] = await Promise.all([getOperation(db, id), receiptFacts(db, id)]);
  if (!op || !facts) return { outcome: "no-operation" };
  const state = completeness(op, facts.dryRunTaskIds);
  return state.complete
    ? { outcome: "incomplete", final: false, why: "it is complete and its receipt is being issued; retry in a few seconds" }
    : { outcome: "incomplete", final: state.final, why: state.why };
}

/**
 * `GET /operations/:operation/receipt` (viewer, operator; admin always): the operation's signed
 * receipt as `application/jose`, an attachment named `receipt-<id>.jws`; 404 naming why while
 * the operation has none. Mounted by the lead inside `/admin/api`, after `adminAuth`.
 */
export function receiptRoutes(deps: ReceiptRouteDeps): express.Router {
  const { db, log } = deps;
  const router = express.Router();
  const handle = handler(log);
  router.get("/operations/:operation/receipt", allow("viewer", "operator"), handle(async (req: Request, res: Response) => {
    const id = String(req.params.operation);
    if (!isUuid(id)) return adminError(res, 404, `no operation ${JSON.stringify(id)}`, "operation ids are UUIDs, as shown by scim-bridge status");
    const found = deps.issuer ? await deps.issuer.issue(id) : await lookUp(db, id);
    if (found.outcome === "no-operation") return adminError(res, 404, `no operation ${id}`);
    if (found.outcome === "incomplete") return adminError(res, 404, `operation ${id} has no receipt: ${found.why}`, found.final ? "it will never have one: the operation did not complete" : HINT);
    res
      .status(200)
      .type(JOSE_MEDIA_TYPE)
      .set("content-disposition", `attachment; filename="receipt-${id}.jws"`)
      .set("cache-control", "private, no-store")
      .send(Buffer.from(found.receipt.jws, "utf8"));
  }));
  /** `POST /receipt-keys/rotate` (admin): a new current key; the old one is retired and stays published. */
  router.post("/receipt-keys/rotate", allow(), handle(async (_req: Request, res: Response) => {
    if (!deps.box) return adminError(res, 409, "receipt keys cannot be rotated by this process: its engine is off", "rotate through a bridge that runs the engine");
    const before = (await listReceiptKeys(db)).filter((k) => k.retiredAt === null).map((k) => k.kid);
    const made = await rotateReceiptKey(actorDb(db, res), deps.box);
    log.info("admin action", { action: "receipt-key.rotate", actor: principalOf(res).name, kid: made.kid });
    res.json({ kid: made.kid, retired: before });
  }));
  return router;
}

/**
 * `GET /.well-known/jwks.json`, public (no token): every receipt key, current and retired, as
 * `{keys: [{kty, crv, x, kid, alg: "EdDSA", use: "sig"}]}`. Mounted by the lead on the app.
 */
export function jwksHandler(deps: { db: Db; log: Logger }): RequestHandler {
  return async (_req, res) => {
    try {
      const jwks = await receiptJwks(deps.db);
      res.set("cache-control", "public, max-age=300").json(jwks);
    } catch (error) {
      deps.log.error("the receipt JWKS could not be read", { error });
      res.status(503).json({ error: { status: 503, message: "the bridge cannot reach its database", hint: "retry later; check /readyz" } });
    }
  };
}
