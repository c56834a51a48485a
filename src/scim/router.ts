import express, { type NextFunction, type Request, type Response } from "express";
import SCIMMYRouters from "scimmy-routers";
import type { Logger } from "../log.js";
import type { Db } from "../storage/db.js";
import type { ScimAuthenticator } from "./auth.js";
import type { ChangeRecorder } from "./changes.js";
import { scimOf, type ScimContext } from "./context.js";
import { declareSchemas } from "./declare.js";
import { groupDefinition, normalisePatchBody, normaliseResourceBody, unknownAttributes, userDefinition } from "./dialect.js";
import { registerGroupHandlers } from "./group-handlers.js";
import { listResources, searchAll, type ListParams } from "./lists.js";
import { resourceRoutes } from "./resource-routes.js";
import { errorBody, scimError } from "./scim-error.js";
import { authenticateScim, bodyRefusal, isRefusal, requestBase, requestHead, scimFailure, useBasepath } from "./edge.js";
import { configureServiceProvider, type ScimLimits } from "./service-provider-config.js";
import { registerUserHandlers } from "./user-handlers.js";

export interface ScimRouterDeps {
  db: Db;
  log: Logger;
  authenticator: ScimAuthenticator;
  recorder: ChangeRecorder;
  limits: ScimLimits;
  /** The public base URL (PUBLIC_URL); unset → taken from each request's Host. */
  publicUrl: string | undefined;
}

const SCIM_TYPES = ["application/scim+json", "application/json", "application/*+json"];
const SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

function sendError(res: Response, status: number, scimType: string | null, detail: string): void {
  res.status(status).type("application/scim+json").send(errorBody(status, scimType, detail));
}

let handlersRegistered = false;

/**
 * `/scim/v2`: our own middleware first (body limits, authentication, IdP dialects, unknown
 * attributes), then our list, search and PATCH routes, then scimmy-routers for the rest
 * (discovery, GET by id, POST, PUT, DELETE, Bulk). Resources are declared before scimmy-routers
 * is constructed, and SCIMMY.Config is set after it (scimmy-facts.md §9).
 *
 * The list lookups and single-resource PATCHes usually arrive by the fast lane instead
 * (src/http/scim-fast-lane.ts), which runs the same functions without express: a middleware added
 * here must be added there too, or the lane must hand its requests to this router.
 */
export function scimRouter(deps: ScimRouterDeps): express.Router {
  declareSchemas();
  if (!handlersRegistered) {
    registerUserHandlers();
    registerGroupHandlers();
    handlersRegistered = true;
  }
  const router = express.Router();

  // Discovery is read-only (RFC 7644 §4): anything but GET is 405 before a body is even parsed.
  router.all(["/ServiceProviderConfig", "/ResourceTypes", "/ResourceTypes/:id", "/Schemas", "/Schemas/:id"], (req: Request, res: Response, next: NextFunction) => {
    if (req.method === "GET" || req.method === "HEAD") return next();
    res.setHeader("Allow", "GET");
    sendError(res, 405, null, `${req.path} is read-only: use GET`);
  });
  router.use(express.json({ type: SCIM_TYPES, limit: deps.limits.maxBodyBytes, strict: false }));
  router.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
    const refusal = bodyRefusal(error as { type?: unknown; status?: unknown }, deps.limits.maxBodyBytes);
    if (!refusal) return next(error);
    res.status(refusal.status).type("application/scim+json").send(refusal.body);
  });

  const baseUri = (req: Request) => requestBase(deps.publicUrl, req);
  router.use(async (req: Request, res: Response, next: NextFunction) => {
    res.setHeader("Content-Type", "application/scim+json");
    // meta.location for our own routes (scimmy-routers sets the same for its routes)
    useBasepath(baseUri(req) + req.baseUrl);
    const outcome = await authenticateScim(deps, requestHead(req, req.query as Record<string, unknown>), res);
    if (isRefusal(outcome)) {
      for (const [name, value] of Object.entries(outcome.headers)) res.setHeader(name, value);
      return void res.status(outcome.status).type("application/scim+json").send(outcome.body);
    }
    (req as unknown as { scim: ScimContext }).scim = outcome;
    next();
  });

  // Normalise what IdPs really send, and refuse attributes we would otherwise drop silently.
  router.use((req: Request, res: Response, next: NextFunction) => {
    const kind = /^\/(Users|Groups)(\/|$)/i.exec(req.path)?.[1]?.toLowerCase();
    if (!kind || !["POST", "PUT", "PATCH"].includes(req.method) || req.path.endsWith("/.search")) return next();
    const definition = kind === "users" ? userDefinition() : groupDefinition();
    if (req.method === "PATCH") {
      req.body = normalisePatchBody(definition, req.body);
      return next();
    }
    const unknown = unknownAttributes(definition, req.body);
    if (unknown.length > 0) {
      return sendError(res, 400, "invalidSyntax", `Unknown attribute${unknown.length > 1 ? "s" : ""} ${unknown.map((u) => `'${u}'`).join(", ")}: not in any schema of this resource type (see /Schemas)`);
    }
    req.body = normaliseResourceBody(definition, req.body);
    next();
  });
  router.post("/Bulk", (req: Request, _res: Response, next: NextFunction) => {
    scimOf(req).bulk = true;
    const operations = (req.body as { Operations?: unknown })?.Operations;
    if (Array.isArray(operations)) {
      for (const op of operations as { path?: unknown; method?: unknown; data?: unknown }[]) {
        if (typeof op?.path !== "string") continue;
        const definition = /^\/Groups/i.test(op.path) ? groupDefinition() : userDefinition();
        op.data = String(op.method).toUpperCase() === "PATCH" ? normalisePatchBody(definition, op.data) : normaliseResourceBody(definition, op.data);
      }
    }
    next();
  });

  const list = (kind: "User" | "Group" | "all", from: "query" | "body") => async (req: Request, res: Response, next: NextFunction) => {
    try {
      if (from === "body") {
        const body = req.body as { schemas?: unknown } | undefined;
        if (!body || typeof body !== "object" || !Array.isArray(body.schemas) || !body.schemas.includes(SEARCH_REQUEST)) {
          throw scimError(400, "invalidSyntax", `A search request body must be a JSON object with schemas ["${SEARCH_REQUEST}"]`);
        }
      }
      const params = (from === "query" ? req.query : req.body) as ListParams & { attributes?: unknown; excludedAttributes?: unknown };
      const normalised = from === "body" ? { ...params, attributes: join(params.attributes), excludedAttributes: join(params.excludedAttributes) } : params;
      res.status(200).send(kind === "all" ? await searchAll(normalised, scimOf(req), deps.limits) : await listResources(kind, normalised, scimOf(req), deps.limits));
    } catch (error) {
      next(error);
    }
  };
  router.get("/Users", list("User", "query"));
  router.get("/Groups", list("Group", "query"));
  router.post("/Users/.search", list("User", "body"));
  router.post("/Groups/.search", list("Group", "body"));
  router.post("/.search", list("all", "body"));
  router.use("/Users", resourceRoutes("User"));
  router.use("/Groups", resourceRoutes("Group"));

  router.use(
    new SCIMMYRouters({
      type: "bearer",
      handler: (async () => undefined) as unknown as () => Promise<string>, // authenticated above; /Me has no user → 501
      context: async (req: Request) => scimOf(req),
      baseUri: async (req: Request) => baseUri(req),
    }) as unknown as express.Router,
  );
  configureServiceProvider(deps.limits);

  // Errors from our own routes (scimmy-routers answers its own): RFC 7644 §3.12 bodies, never a stack.
  router.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) {
      deps.log.error("SCIM request failed after its answer was sent", { path: req.path, error });
      return;
    }
    const failure = scimFailure(error, deps.log, req.path);
    res.status(failure.status).type("application/scim+json").send(failure.body);
  });
  return router;
}

/** SearchRequest (RFC 7644 §3.4.3) carries attributes as arrays; query strings carry commas. */
function join(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(",") : String(value);
}
