import express, { type Request, type Response } from "express";
import type { Subject } from "../connector-kit.js";
import type { Clock } from "../engine/clock.js";
import { parsePolicy } from "../engine/policy.js";
import type { ConnectorRegistry } from "../engine/registry.js";
import { checkTargetConfig, maskTargetConfig, openTargetConfig, sealTargetConfig } from "../engine/target-config.js";
import { checkTarget } from "../engine/target-check.js";
import { targetHealth } from "../engine/support-views.js";
import type { Logger } from "../log.js";
import type { SecretBox } from "../secret-box.js";
import { CONNECTION_NAME } from "../storage/connections-repo.js";
import { sqlState, UNIQUE_VIOLATION, type Db } from "../storage/db.js";
import { groupIdsByDisplayName } from "../storage/groups-repo.js";
import { createTarget, getTarget, listTargets, updateTargetPolicy, type Target, type TargetPolicy } from "../storage/targets-repo.js";
import { findUserByUserName, subjectOf } from "../storage/users-repo.js";
import { isUuid } from "../storage/uuid.js";
import { allow, principalOf } from "./admin-auth.js";
import { adminError } from "./admin-error.js";
import { actorDb, auditor, connectionOr404, handler } from "./route-kit.js";

export interface TargetRouteDeps {
  db: Db;
  log: Logger;
  clock: Clock;
  registry: ConnectorRegistry;
  /** Seals the secret config fields before they are stored. */
  secrets: SecretBox;
  /** Timeout of one request to a target (Default: 10 s). */
  requestTimeoutMs?: number;
}

/**
 * Targets, for app owners (DESIGN.md "Connectors"): register, list, show, change, disable, test.
 * An app-owner token sees and manages only the targets it registered; viewers and operators read
 * all of them; admins do everything. Secret config fields are sealed at rest and never shown.
 */
export function targetRoutes(deps: TargetRouteDeps): express.Router {
  const { db, log, clock, registry, secrets } = deps;
  const router = express.Router();
  const handle = handler(log);
  const audit = auditor(log);

  const view = (t: Target) => ({ ...t, config: maskTargetConfig(registry.get(t.kind), t.config) });
  /** Views with health: last success, error rate, open work, and the pause (on the target itself). */
  const withHealth = async (targets: Target[]) => {
    const health = await targetHealth(db, clock.now(), targets.map((t) => t.id));
    return targets.map((t) => ({ ...view(t), health: { ...health.get(t.id)!, pausedUntil: t.pausedUntil, consecutiveFailures: t.consecutiveFailures } }));
  };
  const ownsOrRefused = (res: Response, t: Target): boolean => {
    const principal = principalOf(res);
    if (principal.role !== "app-owner" || t.ownerTokenId === principal.id) return true;
    adminError(res, 403, `target ${t.name} belongs to another app owner`, "an app-owner token manages only the targets it registered; ask an admin");
    return false;
  };
  /** The target a route names, when this principal may see it; else answered 404/403 and null. */
  const targetOf = async (req: Request, res: Response): Promise<Target | null> => {
    const id = String(req.params.target);
    if (!isUuid(id)) return adminError(res, 404, `no target ${JSON.stringify(id)}`, "target ids are UUIDs, as target list --json shows"), null;
    const target = await getTarget(db, id);
    if (!target) return adminError(res, 404, `no target ${id}`), null;
    return ownsOrRefused(res, target) ? target : null;
  };
  /** Group display names in a policy become the connection's SCIM group ids; unknown names are problems. */
  const resolveGroups = async (connectionId: string, policy: Partial<TargetPolicy>, problems: string[]): Promise<void> => {
    const names = [...(policy.scopeGroups ?? []), ...Object.keys(policy.entitlements ?? {})].filter((g) => !isUuid(g));
    if (names.length === 0) return;
    const ids = await groupIdsByDisplayName(db, connectionId, names);
    const idOf = (g: string): string => {
      const found = isUuid(g) ? g : ids.get(String(g).toLowerCase());
      if (!found) problems.push(`no group named ${JSON.stringify(g)} in this connection; use a SCIM group id, or the displayName of a group the IdP has pushed`);
      return found ?? g;
    };
    if (policy.scopeGroups) policy.scopeGroups = policy.scopeGroups.map(idOf);
    if (policy.entitlements) policy.entitlements = Object.fromEntries(Object.entries(policy.entitlements).map(([g, e]) => [idOf(g), e]));
  };
  const invalid = (res: Response, problems: string[]) => adminError(res, 400, problems[0]!, "fix the request and send it again; nothing was changed", problems);

  router.get("/targets", allow("viewer", "operator", "app-owner"), handle(async (req, res) => {
    let connectionId: string | undefined;
    if (req.query.connection !== undefined) {
      const c = await connectionOr404(db, res, req.query.connection);
      if (!c) return;
      connectionId = c.id;
    }
    const principal = principalOf(res);
    const targets = (await listTargets(db, connectionId)).filter((t) => principal.role !== "app-owner" || t.ownerTokenId === principal.id);
    res.json({ targets: await withHealth(targets), kinds: registry.ids() });
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
    else if (connector) problems.push(...checkTargetConfig(connector, config as Record<string, unknown>));
    const { policy, problems: policyProblems } = parsePolicy(body.policy);
    problems.push(...policyProblems);
    if (problems.length > 0) return invalid(res, problems);
    const c = await connectionOr404(db, res, body.connection);
    if (!c) return;
    await resolveGroups(c.id, policy, problems);
    if (problems.length > 0) return invalid(res, problems);
    try {
      const sealed = sealTargetConfig(connector!, config as Record<string, unknown>, secrets);
      const target = await createTarget(actorDb(db, res), { connectionId: c.id, name, kind, config: sealed, policy, ownerTokenId: principalOf(res).id });
      audit(res, "target.create", { targetId: target.id, connectionId: c.id, kind });
      const warnings = connector!.registrationWarnings?.(config as Record<string, unknown>) ?? [];
      res.status(201).json({ ...view(target), ...(warnings.length > 0 ? { warnings } : {}) });
    } catch (error) {
      if (sqlState(error) === UNIQUE_VIOLATION) return adminError(res, 409, `connection ${c.name} has a target named ${JSON.stringify(name)} already`, "pick another name, or change that target: target show / PATCH");
      throw error;
    }
  }));

  router.get("/targets/:target", allow("viewer", "operator", "app-owner"), handle(async (req, res) => {
    const target = await targetOf(req, res);
    if (target) res.json((await withHealth([target]))[0]);
  }));

  /** Changes policy fields, `enabled`, or config fields (merged: send only what changes; a secret is sealed again). */
  router.patch("/targets/:target", allow("app-owner"), handle(async (req, res) => {
    const target = await targetOf(req, res);
    if (!target) return;
    const body = (req.body ?? {}) as Record<string, unknown>;
    const { policy, problems } = parsePolicy(body.policy);
    const enabled = body.enabled;
    if (enabled !== undefined && typeof enabled !== "boolean") problems.push("enabled must be true or false");
    let config: Record<string, unknown> | undefined;
    if (body.config !== undefined) {
      const connector = registry.get(target.kind);
      if (typeof body.config !== "object" || body.config === null || Array.isArray(body.config)) problems.push("config must be an object of the fields to change");
      else if (!connector) problems.push(`connector kind "${target.kind}" is not installed in this process: its config cannot be checked`);
      else {
        const merged = { ...target.config, ...(body.config as Record<string, unknown>) };
        for (const [k, v] of Object.entries(body.config)) if (v === null) delete merged[k];
        problems.push(...checkTargetConfig(connector, merged));
        config = sealTargetConfig(connector, merged, secrets);
      }
    }
    if (problems.length === 0) await resolveGroups(target.connectionId, policy, problems);
    if (problems.length > 0) return invalid(res, problems);
    const updated = await updateTargetPolicy(actorDb(db, res), target.id, policy, enabled as boolean | undefined, config, clock.now());
    if (!updated) return adminError(res, 404, `no target ${target.id}`);
    audit(res, "target.update", { targetId: target.id, fields: Object.keys(policy), config: config ? Object.keys(body.config as object) : undefined, enabled });
    res.json(view(updated));
  }));

  /** Validates the target's credentials and, with {userName}, finds that person's account: no writes. */
  router.post("/targets/:target/test", allow("app-owner", "operator"), handle(async (req, res) => {
    const target = await targetOf(req, res);
    if (!target) return;
    const connector = registry.get(target.kind);
    if (!connector) return adminError(res, 409, `connector kind "${target.kind}" is not installed in this process`, `installed kinds: ${registry.ids().join(", ") || "none"}`);
    const userName = req.body?.userName;
    if (userName !== undefined && (typeof userName !== "string" || userName.trim() === "")) return adminError(res, 400, "userName must be a non-empty string");
    let subject: Subject | null = null;
    if (typeof userName === "string") {
      const user = await findUserByUserName(db, target.connectionId, userName);
      subject = user ? subjectOf(user) : { connectionId: target.connectionId, id: "", userName, emails: userName.includes("@") ? [userName.toLowerCase()] : [] };
    }
    let config: Record<string, unknown>;
    try {
      config = openTargetConfig(target.config, secrets);
    } catch (error) {
      return adminError(res, 409, (error as Error).message);
    }
    const check = await checkTarget({ ...target, config }, connector, subject, { clock, log, timeoutMs: deps.requestTimeoutMs ?? 10_000 });
    audit(res, "target.test", { targetId: target.id, validate: check.validate.ok, found: check.account?.found });
    res.json(check);
  }));

  return router;
}
