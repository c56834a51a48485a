import express, { type NextFunction, type Request, type Response } from "express";
import type { Logger } from "../log.js";
import { ADMIN_ROLES, createAdminToken, listAdminTokens, revokeAdminToken, type AdminRole } from "../storage/admin-tokens-repo.js";
import { CONNECTION_NAME, createConnection, listConnections } from "../storage/connections-repo.js";
import {
  createBasicCredential,
  createBearerToken,
  createJwtCredential,
  CredentialError,
  listCredentials,
  revokeCredential,
  rotateBearerToken,
  type JwtConfigInput,
} from "../storage/credentials-repo.js";
import { sqlState, UNIQUE_VIOLATION, type Db } from "../storage/db.js";
import { adminAuth, allow, principalOf } from "./admin-auth.js";
import { adminError } from "./admin-error.js";
import { actorDb, auditor, connectionOr404, handler } from "./route-kit.js";
import { auditRoutes } from "./audit-routes.js";
import { engineRoutes, type EngineRouteDeps } from "./engine-routes.js";
import { receiptRoutes } from "./receipt-routes.js";
import { openApiDocument } from "./openapi.js";
import { PACKAGE_VERSION } from "../paths.js";
import type { ReceiptIssuer } from "../evidence/receipt-issuer.js";

export interface AdminRouterDeps {
  db: Db;
  log: Logger;
  /** The SCIM base URL IdPs are given, e.g. https://bridge.example.com/scim/v2. */
  scimUrl: (req: Request) => string;
  /** Called after a credential is revoked or rotated, so no cache keeps accepting it. */
  onCredentialsChanged?: () => void;
  /** The engine's routes (targets, operations, support actions); absent: not mounted. */
  engine?: Omit<EngineRouteDeps, "db" | "log">;
  /** Issues a complete operation's receipt when it is downloaded (Default: only stored receipts are served). */
  receipts?: Pick<ReceiptIssuer, "issue">;
}

/**
 * `/admin/api`: connections and their credentials, admin tokens. Every route names the roles it
 * allows; failures answer `{error: {status, message, hint}}`.
 */
export function adminRouter(deps: AdminRouterDeps): express.Router {
  const { db, log } = deps;
  const router = express.Router();
  router.use(express.json({ limit: "256kb" }));
  router.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if ((error as { type?: string }).type === "entity.parse.failed") return adminError(res, 400, "the request body is not valid JSON");
    if ((error as { type?: string }).type === "entity.too.large") return adminError(res, 413, "the request body is too large");
    next(error);
  });
  // the description of this API is public: it holds no data, and tools read it before they have a token
  const openApi = openApiDocument(PACKAGE_VERSION);
  router.get("/openapi.json", (_req: Request, res: Response) => void res.json(openApi));
  router.use(adminAuth(db, log));

  const handle = handler(log, (error, res) => {
    if (!(error instanceof CredentialError)) return false;
    const status = error.reason === "not-found" ? 404 : error.reason === "conflict" ? 409 : 400;
    adminError(res, status, error.message, undefined, error.problems);
    return true;
  });
  const connection = (req: Request, res: Response) => connectionOr404(db, res, req.params.connection);
  const audit = auditor(log);

  router.get("/whoami", allow("viewer", "operator", "app-owner"), handle(async (_req, res) => {
    res.json(principalOf(res));
  }));

  router.get("/connections", allow("viewer", "operator"), handle(async (req, res) => {
    const connections = await listConnections(db);
    res.json({ connections: connections.map((c) => ({ id: c.id, name: c.name, createdAt: c.createdAt, scimUrl: deps.scimUrl(req) })) });
  }));

  router.post("/connections", allow(), handle(async (req, res) => {
    const name = typeof req.body?.name === "string" ? req.body.name.trim() : "";
    if (!CONNECTION_NAME.test(name)) {
      return adminError(res, 400, "name must be 1 to 63 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter or digit");
    }
    try {
      const created = await actorDb(db, res).transaction(async (tx) => {
        const c = await createConnection(tx, name);
        const { credential, token } = await createBearerToken(tx, c.id, typeof req.body?.label === "string" ? req.body.label : "initial");
        return { c, credential, token };
      });
      audit(res, "connection.create", { connectionId: created.c.id, name });
      res.status(201).json({ id: created.c.id, name: created.c.name, scimUrl: deps.scimUrl(req), token: created.token, tokenId: created.credential.id });
    } catch (error) {
      if (sqlState(error) === UNIQUE_VIOLATION) return adminError(res, 409, `a connection named ${JSON.stringify(name)} exists already`);
      throw error;
    }
  }));

  router.get("/connections/:connection", allow("viewer", "operator"), handle(async (req, res) => {
    const c = await connection(req, res);
    if (c) res.json({ id: c.id, name: c.name, createdAt: c.createdAt, scimUrl: deps.scimUrl(req) });
  }));

  router.get("/connections/:connection/credentials", allow(), handle(async (req, res) => {
    const c = await connection(req, res);
    if (c) res.json({ credentials: await listCredentials(db, c.id) });
  }));

  /** A new bearer token; `revokeOthers: true` makes it a rotation. */
  router.post("/connections/:connection/tokens", allow(), handle(async (req, res) => {
    const c = await connection(req, res);
    if (!c) return;
    const label = typeof req.body?.label === "string" ? req.body.label : undefined;
    const revokeOthers = req.body?.revokeOthers === true;
    const rotated = await rotateBearerToken(actorDb(db, res), c.id, { revokeOthers, ...(label ? { label } : {}) });
    if (rotated.revokedCredentialIds.length > 0) deps.onCredentialsChanged?.();
    audit(res, "token.create", { connectionId: c.id, credentialId: rotated.credential.id, revoked: rotated.revokedCredentialIds });
    res.status(201).json({ id: rotated.credential.id, connection: c.name, scimUrl: deps.scimUrl(req), token: rotated.token, revoked: rotated.revokedCredentialIds });
  }));

  router.post("/connections/:connection/basic", allow(), handle(async (req, res) => {
    const c = await connection(req, res);
    if (!c) return;
    const made = await createBasicCredential(actorDb(db, res), c.id, typeof req.body?.username === "string" ? req.body.username : undefined);
    audit(res, "basic.create", { connectionId: c.id, credentialId: made.credential.id });
    res.status(201).json({ id: made.credential.id, connection: c.name, scimUrl: deps.scimUrl(req), username: made.username, password: made.password });
  }));

  router.post("/connections/:connection/jwt", allow(), handle(async (req, res) => {
    const c = await connection(req, res);
    if (!c) return;
    const credential = await createJwtCredential(actorDb(db, res), c.id, (req.body ?? {}) as JwtConfigInput, typeof req.body?.label === "string" ? req.body.label : undefined);
    audit(res, "jwt.create", { connectionId: c.id, credentialId: credential.id });
    res.status(201).json(credential);
  }));

  router.delete("/connections/:connection/credentials/:credential", allow(), handle(async (req, res) => {
    const c = await connection(req, res);
    if (!c) return;
    const revoked = await revokeCredential(actorDb(db, res), c.id, String(req.params.credential));
    if (revoked) deps.onCredentialsChanged?.();
    if (!revoked) return adminError(res, 404, `no active credential ${req.params.credential} in connection ${c.name}`, `list them: scim-bridge token list ${c.name}`);
    audit(res, "credential.revoke", { connectionId: c.id, credentialId: req.params.credential });
    res.status(204).end();
  }));

  router.get("/admin-tokens", allow(), handle(async (_req, res) => {
    res.json({ adminTokens: await listAdminTokens(db) });
  }));

  router.post("/admin-tokens", allow(), handle(async (req, res) => {
    const role = req.body?.role as AdminRole;
    const name = typeof req.body?.name === "string" ? req.body.name : "";
    if (!ADMIN_ROLES.includes(role)) return adminError(res, 400, `role must be one of ${ADMIN_ROLES.join(", ")}`);
    if (name.trim() === "") return adminError(res, 400, "name is required");
    const made = await createAdminToken(actorDb(db, res), { name, role });
    audit(res, "admin-token.create", { adminTokenId: made.adminToken.id, role });
    res.status(201).json({ ...made.adminToken, token: made.token });
  }));

  router.delete("/admin-tokens/:id", allow(), handle(async (req, res) => {
    const revoked = await revokeAdminToken(actorDb(db, res), String(req.params.id));
    if (!revoked) return adminError(res, 404, `no active admin token ${req.params.id}`);
    audit(res, "admin-token.revoke", { adminTokenId: req.params.id });
    res.status(204).end();
  }));

  if (deps.engine) router.use(engineRoutes({ db, log, ...deps.engine }));
  router.use(auditRoutes({ db, log }));
  router.use(receiptRoutes({ db, log, ...(deps.receipts ? { issuer: deps.receipts } : {}), ...(deps.engine ? { box: deps.engine.secrets } : {}) }));

  router.use((_req: Request, res: Response) => adminError(res, 404, "no such admin route", "see the README's admin API section"));
  return router;
}
