import type { Request, Response } from "express";
import type { Logger } from "../log.js";
import { findConnection, type Connection } from "../storage/connections-repo.js";
import type { Db } from "../storage/db.js";
import { adminActor, withActor } from "../storage/audit-repo.js";
import { principalOf } from "./admin-auth.js";
import { adminError } from "./admin-error.js";

/** What every admin route shares: error handling, the audit line, finding the connection it names. */
export type Handler = (req: Request, res: Response) => Promise<void>;

/**
 * Wraps a route: an error `answer` recognises becomes its answer; anything else is logged and
 * answered 500 with what to do next.
 */
export function handler(log: Logger, answer: (error: unknown, res: Response) => boolean = () => false) {
  return (fn: Handler) => async (req: Request, res: Response): Promise<void> => {
    try {
      await fn(req, res);
    } catch (error) {
      if (answer(error, res)) return;
      log.error("admin request failed", { path: req.path, error });
      adminError(res, 500, "internal error; the bridge has logged it", "retry; if it persists, check the bridge's log");
    }
  };
}

/** One log line per admin action, naming who did it (never a secret). */
export const auditor = (log: Logger) => (res: Response, action: string, detail: Record<string, unknown>): void => {
  log.info("admin action", { action, actor: principalOf(res).name, actorId: principalOf(res).id, ...detail });
};

/** The connection a route names (by name or id), or a 404 answered and null. */
export async function connectionOr404(db: Db, res: Response, ref: unknown): Promise<Connection | null> {
  const found = typeof ref === "string" && ref !== "" ? await findConnection(db, ref) : null;
  if (!found) adminError(res, 404, `no connection named ${JSON.stringify(ref ?? "")}`, "list them: scim-bridge connection list");
  return found;
}

/** The database as this request's admin: what its writes change is recorded in the audit log as `admin:<token name>`. */
export const actorDb = (db: Db, res: Response): Db => withActor(db, adminActor(principalOf(res).name));
