import express, { type Request, type Response } from "express";
import type { Logger } from "../log.js";
import type { Clock } from "../engine/clock.js";
import {
  approveHeld, cancelOperation, getOperation, heldOperations, operationsOf, rejectHeld, resolveEscalation, retryNow,
} from "../engine/admin.js";
import { parsePolicy } from "../engine/policy.js";
import { checkTarget } from "../engine/target-check.js";
import type { Subject } from "../connector-kit.js";
import { findUserByUserName, subjectOf } from "../storage/users-repo.js";
import type { ConnectorRegistry } from "../engine/registry.js";
import { CONNECTION_NAME } from "../storage/connections-repo.js";
import { sqlState, UNIQUE_VIOLATION, type Db } from "../storage/db.js";
import { createTarget, getTarget, listTargets, updateTargetPolicy, type Target } from "../storage/targets-repo.js";
import { isUuid } from "../storage/uuid.js";
import { allow, principalOf } from "./admin-auth.js";
import { adminError } from "./admin-error.js";
import { auditor, connectionOr404, handler } from "./route-kit.js";

export interface EngineRouteDeps {
  db: Db;
  log: Logger;
  clock: Clock;
  registry: ConnectorRegistry;
  /** Work became due: wake the workers. */
  wake: () => void;
  /** Timeout of one request to a target (Default: 10 s). */
  requestTimeoutMs?: number;
}

/**
 * The engine's part of /admin/api: targets (app owners), a person's operations (support staff),
 * and the support actions (operators) — each a call into engine/admin.ts, never SQL here.
 */
export function engineRoutes(deps: EngineRouteDeps): express.Router {
  const { db, log, clock, registry } = deps;
  const router = express.Router();
  const handle = handler(log);
  const audit = auditor(log);
  const actor = (req: Request, res: Response) => ({ by: principalOf(res).name, ...(typeof req.body?.note === "string" && req.body.note.trim() !== "" ? { note: req.body.note.trim() } : {}) });
  const connectionOf = (res: Response, ref: unknown) => connectionOr404(db, res, ref);
  const idParam = (req: Request, res: Response, name: string): string | null => {
    const id = String(req.params[name]);
    if (isUuid(id)) return id;
    adminError(res, 404, `no ${name} ${JSON.stringify(id)}`, `${name} ids are UUIDs, as shown by scim-bridge status`);
    return null;
  };
  /** Config fields the connector marks secret are never shown back. */
  const targetView = (t: Target) => {
    const secret = new Set((registry.get(t.kind)?.configFields ?? []).filter((f) => f.secret).map((f) => f.name));
    const config = Object.fromEntries(Object.entries(t.config).map(([k, v]) => [k, secret.has(k) ? "[secret]" : v]));
    return { ...t, config };
  };

  router.get("/targets", allow("viewer", "operator", "app-owner"), handle(async (req, res) => {
    let connectionId: string | undefined;
    if (req.query.connection !== undefined) {
      const c = await connectionOf(res, req.query.connection);
      if (!c) return;
      connectionId = c.id;
    }
    res.json({ targets: (await listTargets(db, connectionId)).map(targetView), kinds: registry.ids() });
  }));

  router.post("/targets", allow("app-owner"), handle(async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const problems: string[] = [];
    const name = typeof body.name === "string" ? body.name.trim() : "";
    if (!CONNECTION_NAME.test(name)) problems.push("name must be 1 to 63 characters: lower-case letters, digits, '.', '_' or '-'");
    const kind = typeof body.kind === "string" ? body.kind : "";
    const connector = registry.get(kind);
    if (!connector) problems.push(`kind ${JSON.stringify(kind)} is not installed; installed kinds: ${registry.ids().join(", ") || "none"}`);
    const config = body.config ?? {};
    if (typeof config !== "object" || config === null || Array.isArray(config)) problems.push("config must be an object");
    else for (const field of connector?.configFields ?? []) {
      if (field.required && (config as Record<string, unknown>)[field.name] === undefined) problems.push(`config.${field.name} is required: ${field.description}`);
    }
    const { policy, problems: policyProblems } = parsePolicy(body.policy);
    problems.push(...policyProblems);
    if (problems.length > 0) return adminError(res, 400, problems[0]!, "fix the request and send it again; nothing was changed", problems);
    const c = await connectionOf(res, body.connection);
    if (!c) return;
    try {
      const target = await createTarget(db, { connectionId: c.id, name, kind, config: config as Record<string, unknown>, policy });
      audit(res, "target.create", { targetId: target.id, connectionId: c.id, kind });
      res.status(201).json(targetView(target));
    } catch (error) {
      if (sqlState(error) === UNIQUE_VIOLATION) return adminError(res, 409, `connection ${c.name} has a target named ${JSON.stringify(name)} already`);
      throw error;
    }
  }));

  router.get("/targets/:target", allow("viewer", "operator", "app-owner"), handle(async (req, res) => {
    const id = idParam(req, res, "target");
    if (!id) return;
    const target = await getTarget(db, id);
    if (!target) return adminError(res, 404, `no target ${id}`);
    res.json(targetView(target));
  }));

  router.patch("/targets/:target", allow("app-owner"), handle(async (req, res) => {
    const id = idParam(req, res, "target");
    if (!id) return;
    const { policy, problems } = parsePolicy(req.body?.policy);
    const enabled = req.body?.enabled;
    if (enabled !== undefined && typeof enabled !== "boolean") problems.push("enabled must be true or false");
    if (problems.length > 0) return adminError(res, 400, problems[0]!, "nothing was changed", problems);
    const target = await updateTargetPolicy(db, id, policy, enabled as boolean | undefined);
    if (!target) return adminError(res, 404, `no target ${id}`);
    audit(res, "target.update", { targetId: id, fields: Object.keys(policy), enabled });
    res.json(targetView(target));
  }));

  /** Validates the target's credentials and, with {userName}, finds that person's account: no writes. */
  router.post("/targets/:target/test", allow("app-owner", "operator"), handle(async (req, res) => {
    const id = idParam(req, res, "target");
    if (!id) return;
    const target = await getTarget(db, id);
    if (!target) return adminError(res, 404, `no target ${id}`);
    const connector = registry.get(target.kind);
    if (!connector) return adminError(res, 409, `connector kind "${target.kind}" is not installed in this process`, `installed kinds: ${registry.ids().join(", ") || "none"}`);
    const userName = req.body?.userName;
    if (userName !== undefined && (typeof userName !== "string" || userName.trim() === "")) return adminError(res, 400, "userName must be a non-empty string");
    let subject: Subject | null = null;
    if (typeof userName === "string") {
      const user = await findUserByUserName(db, target.connectionId, userName);
      subject = user ? subjectOf(user) : { connectionId: target.connectionId, id: "", userName, emails: [] };
    }
    const check = await checkTarget(target, connector, subject, { clock, log, timeoutMs: deps.requestTimeoutMs ?? 10_000 });
    audit(res, "target.test", { targetId: id, validate: check.validate.ok, found: check.account?.found });
    res.json(check);
  }));

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
    if (id) await afterAction(res, id, "operation.retry", await retryNow(db, clock, { operationId: id }), "no open task of this operation to retry");
  }));
  router.post("/operations/:operation/approve", allow("operator"), handle(async (req, res) => {
    const id = idParam(req, res, "operation");
    if (id) await afterAction(res, id, "operation.approve", await approveHeld(db, clock, { operationIds: [id] }, actor(req, res)), "this operation is not held");
  }));
  router.post("/operations/:operation/reject", allow("operator"), handle(async (req, res) => {
    const id = idParam(req, res, "operation");
    if (id) await afterAction(res, id, "operation.reject", await rejectHeld(db, clock, { operationIds: [id] }, actor(req, res)), "this operation is not held");
  }));
  router.post("/operations/:operation/cancel", allow("operator"), handle(async (req, res) => {
    const id = idParam(req, res, "operation");
    if (id) await afterAction(res, id, "operation.cancel", await cancelOperation(db, clock, id, actor(req, res)), "no open task of this operation to cancel");
  }));

  router.post("/connections/:connection/held/:decision", allow("operator"), handle(async (req, res) => {
    const decision = req.params.decision;
    if (decision !== "approve" && decision !== "reject") return adminError(res, 404, "use /held/approve or /held/reject");
    const c = await connectionOf(res, req.params.connection);
    if (!c) return;
    const changed = decision === "approve" ? await approveHeld(db, clock, { connectionId: c.id }, actor(req, res)) : await rejectHeld(db, clock, { connectionId: c.id }, actor(req, res));
    audit(res, `held.${decision}`, { connectionId: c.id, changed });
    deps.wake();
    res.json({ connection: c.name, decision, operations: changed });
  }));

  router.post("/tasks/:task/retry", allow("operator"), handle(async (req, res) => {
    const id = idParam(req, res, "task");
    if (!id) return;
    const changed = await retryNow(db, clock, { taskId: id });
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
    const resolved = await resolveEscalation(db, clock, id, { by: principalOf(res).name, note });
    if (!resolved) return adminError(res, 409, "this task is not an open escalation");
    audit(res, "task.resolve", { taskId: id });
    res.json({ taskId: id, resolved: true });
  }));

  return router;
}
