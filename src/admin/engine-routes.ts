import express, { type Request, type Response } from "express";
import type { Logger } from "../log.js";
import type { Clock } from "../engine/clock.js";
import {
  approveHeld, cancelOperation, getOperation, heldOperations, operationsOf, rejectHeld, resolveEscalation, retryNow,
} from "../engine/admin.js";
import type { ConnectorRegistry } from "../engine/registry.js";
import type { SecretBox } from "../secret-box.js";
import { targetRoutes } from "./target-routes.js";
import { supportRoutes } from "./support-routes.js";
import type { Db } from "../storage/db.js";
import { isUuid } from "../storage/uuid.js";
import { allow, principalOf } from "./admin-auth.js";
import { adminError } from "./admin-error.js";
import { actorDb, auditor, connectionOr404, handler } from "./route-kit.js";

export interface EngineRouteDeps {
  db: Db;
  log: Logger;
  clock: Clock;
  registry: ConnectorRegistry;
  /** Work became due: wake the workers. */
  wake: () => void;
  /** Seals target secrets (the engine's box). */
  secrets: SecretBox;
  /** Timeout of one request to a target (Default: 10 s). */
  requestTimeoutMs?: number;
}

/**
 * The engine's part of /admin/api: targets (target-routes.ts, for app owners), a person's operations (support staff),
 * and the support actions (operators) — each a call into engine/admin.ts, never SQL here.
 */
export function engineRoutes(deps: EngineRouteDeps): express.Router {
  const { db, log, clock, registry } = deps;
  const router = express.Router();
  const handle = handler(log);
  const audit = auditor(log);
  const actor = (req: Request, res: Response) => ({ by: principalOf(res).name, ...(typeof req.body?.note === "string" && req.body.note.trim() !== "" ? { note: req.body.note.trim() } : {}) });
  const connectionOf = (res: Response, ref: unknown) => connectionOr404(db, res, ref);
  router.use(targetRoutes(deps));
  router.use(supportRoutes(deps));
  const idParam = (req: Request, res: Response, name: string): string | null => {
    const id = String(req.params[name]);
    if (isUuid(id)) return id;
    adminError(res, 404, `no ${name} ${JSON.stringify(id)}`, `${name} ids are UUIDs, as shown by scim-bridge status`);
    return null;
  };
  router.get("/connections/:connection/subjects/:userName/operations", allow("viewer", "operator"), handle(async (req, res) => {
    const c = await connectionOf(res, req.params.connection);
    if (!c) return;
    const userName = String(req.params.userName);
    res.json({ connection: c.name, userName, operations: await operationsOf(db, c.id, userName) });
  }));

  router.get("/operations", allow("viewer", "operator"), handle(async (req, res) => {
    if (req.query.status !== "held") return adminError(res, 400, "list operations with ?status=held, or a person's with /connections/{connection}/subjects/{userName}/operations");
    let connectionId: string | undefined;
    if (req.query.connection !== undefined) {
      const c = await connectionOf(res, req.query.connection);
      if (!c) return;
      connectionId = c.id;
    }
    res.json({ operations: await heldOperations(db, connectionId) });
  }));

  router.get("/operations/:operation", allow("viewer", "operator"), handle(async (req, res) => {
    const id = idParam(req, res, "operation");
    if (!id) return;
    const op = await getOperation(db, id);
    if (!op) return adminError(res, 404, `no operation ${id}`);
    res.json(op);
  }));

  const afterAction = async (res: Response, id: string, action: string, changed: number, nothing: string) => {
    if (changed === 0) return adminError(res, 409, nothing, "read its state: GET /admin/api/operations/" + id);
    audit(res, action, { operationId: id, changed });
    deps.wake();
    res.json(await getOperation(db, id));
  };

  router.post("/operations/:operation/retry", allow("operator"), handle(async (req, res) => {
    const id = idParam(req, res, "operation");
    if (id) await afterAction(res, id, "operation.retry", await retryNow(actorDb(db, res), clock, { operationId: id }), "no open task of this operation to retry");
  }));
  router.post("/operations/:operation/approve", allow("operator"), handle(async (req, res) => {
    const id = idParam(req, res, "operation");
    if (id) await afterAction(res, id, "operation.approve", await approveHeld(actorDb(db, res), clock, { operationIds: [id] }, actor(req, res)), "this operation is not held");
  }));
  router.post("/operations/:operation/reject", allow("operator"), handle(async (req, res) => {
    const id = idParam(req, res, "operation");
    if (id) await afterAction(res, id, "operation.reject", await rejectHeld(actorDb(db, res), clock, { operationIds: [id] }, actor(req, res)), "this operation is not held");
  }));
  router.post("/operations/:operation/cancel", allow("operator"), handle(async (req, res) => {
    const id = idParam(req, res, "operation");
    if (id) await afterAction(res, id, "operation.cancel", await cancelOperation(actorDb(db, res), clock, id, actor(req, res)), "no open task of this operation to cancel");
  }));

  router.post("/connections/:connection/held/:decision", allow("operator"), handle(async (req, res) => {
    const decision = req.params.decision;
    if (decision !== "approve" && decision !== "reject") return adminError(res, 404, "use /held/approve or /held/reject");
    const c = await connectionOf(res, req.params.connection);
    if (!c) return;
    const changed = decision === "approve" ? await approveHeld(actorDb(db, res), clock, { connectionId: c.id }, actor(req, res)) : await rejectHeld(actorDb(db, res), clock, { connectionId: c.id }, actor(req, res));
    audit(res, `held.${decision}`, { connectionId: c.id, changed });
    deps.wake();
    res.json({ connection: c.name, decision, operations: changed });
  }));

  router.post("/tasks/:task/retry", allow("operator"), handle(async (req, res) => {
    const id = idParam(req, res, "task");
    if (!id) return;
    const changed = await retryNow(actorDb(db, res), clock, { taskId: id });
    if (changed === 0) return adminError(res, 409, "this task is not open (or is held or resolved): nothing to retry");
    audit(res, "task.retry", { taskId: id });
    deps.wake();
    res.json({ taskId: id, retried: true });
  }));

  router.post("/tasks/:task/resolve", allow("operator"), handle(async (req, res) => {
    const id = idParam(req, res, "task");
    if (!id) return;
    const note = typeof req.body?.note === "string" ? req.body.note.trim() : "";
    if (note === "") return adminError(res, 400, "a resolution needs a note saying what was done", 'send {"note": "removed by hand in the vendor console"}');
    const resolved = await resolveEscalation(actorDb(db, res), clock, id, { by: principalOf(res).name, note });
    if (!resolved) return adminError(res, 409, "this task is not an open escalation");
    audit(res, "task.resolve", { taskId: id });
    res.json({ taskId: id, resolved: true });
  }));

  return router;
}
