import type { NextFunction, Request, Response } from "express";
import type { Logger } from "../log.js";
import { findAdminTokenBySecret, type AdminPrincipal, type AdminRole } from "../storage/admin-tokens-repo.js";
import type { Db } from "../storage/db.js";
import { adminError } from "./admin-error.js";

/** Which roles may do what: viewer reads, operator acts on work, admin manages everything. */
export const ROLE_RANK: Record<AdminRole, number> = { viewer: 1, "app-owner": 1, operator: 2, admin: 3 };

export const principalOf = (res: Response): AdminPrincipal => res.locals.principal as AdminPrincipal;

/** Authenticates an admin token (`Authorization: Bearer scba_…`) and keeps who acts on res.locals. */
export function adminAuth(db: Db, log: Logger) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const header = req.headers.authorization ?? "";
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) return adminError(res, 401, "missing admin token", "send Authorization: Bearer <admin token>");
    try {
      const principal = await findAdminTokenBySecret(db, match[1]!);
      if (!principal) return adminError(res, 401, "invalid admin token", "ask an admin for a token: scim-bridge admin-token create");
      res.locals.principal = principal;
      next();
    } catch (error) {
      log.error("admin authentication could not complete", { error });
      adminError(res, 503, "the bridge cannot reach its database", "retry later; check /readyz");
    }
  };
}

/** Allows the route to `roles` (admin is always allowed); others get 403 naming what they lack. */
export function allow(...roles: AdminRole[]) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    const principal = principalOf(res);
    if (principal.role === "admin" || roles.includes(principal.role)) return next();
    adminError(res, 403, `role ${principal.role} may not do this`, `use a token with role ${["admin", ...roles].join(" or ")}`);
  };
}
