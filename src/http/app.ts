import type { RequestListener } from "node:http";
import express, { type NextFunction, type Request, type Response } from "express";
import { adminRouter } from "../admin/router.js";
import { requestBase } from "../scim/edge.js";
import { scimRouter, type ScimRouterDeps } from "../scim/router.js";
import { migrationStatus } from "../storage/migrate.js";
import { requestLog } from "./request-log.js";
import { scimFastLane } from "./scim-fast-lane.js";
import type { Registry } from "prom-client";
import type { Clock } from "../engine/clock.js";
import type { ConnectorRegistry } from "../engine/registry.js";
import type { SecretBox } from "../secret-box.js";
import { jwksHandler } from "../admin/receipt-routes.js";
import { consoleRoutes } from "../console/console-routes.js";
import type { ReceiptIssuer } from "../evidence/receipt-issuer.js";

export const SCIM_PATH = "/scim/v2";

/** What the engine shows over HTTP: its admin routes, its metrics, its liveness. */
export interface AppEngine {
  clock: Clock;
  registry: ConnectorRegistry;
  wake: () => void;
  metrics: Registry;
  alive: () => boolean;
  /** Seals the secrets of targets registered through the admin API (the engine's box). */
  secrets: SecretBox;
  /** Issues receipts on download (Default: only stored receipts are served). */
  receipts?: Pick<ReceiptIssuer, "issue">;
}

/** What the HTTP surfaces need: what the SCIM router does (the admin API takes a subset), and the engine. */
export type AppDeps = ScimRouterDeps & { engine?: AppEngine };

/**
 * The bridge's request listener: the IdPs' list lookups and single-resource PATCHes on the fast
 * lane (scim-fast-lane.ts), everything else on `app` (Default: the express app of these deps).
 */
export function createHandler(deps: AppDeps, app: express.Express = createApp(deps)): RequestListener {
  const { db, authenticator, recorder, limits, publicUrl } = deps;
  const log = deps.log.child({ module: "scim" });
  return scimFastLane({ db, log, authenticator, recorder, limits, publicUrl, httpLog: deps.log.child({ module: "http" }), scimPath: SCIM_PATH }, app);
}

/** The HTTP surfaces: /scim/v2 for IdPs, /admin/api for people, /healthz and /readyz for orchestrators. */
export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false); // SCIM resources carry their own weak ETags (RFC 7644 §3.14)
  app.set("query parser", "simple"); // filters are strings, never nested objects
  app.use(requestLog(deps.log.child({ module: "http" })));

  const baseOf = (req: Request) => requestBase(deps.publicUrl, req);
  app.use(SCIM_PATH, scimRouter({ ...deps, log: deps.log.child({ module: "scim" }) }));
  app.use("/admin/api", adminRouter({ db: deps.db, log: deps.log.child({ module: "admin" }), scimUrl: (req) => baseOf(req) + SCIM_PATH,
    onCredentialsChanged: () => deps.authenticator.forget(),
    ...(deps.engine ? { engine: { clock: deps.engine.clock, registry: deps.engine.registry, wake: deps.engine.wake, secrets: deps.engine.secrets } } : {}),
    ...(deps.engine?.receipts ? { receipts: deps.engine.receipts } : {}),
  }));
  // the receipt signing keys, public: anyone can verify a receipt offline against them
  app.get("/.well-known/jwks.json", jwksHandler({ db: deps.db, log: deps.log.child({ module: "receipts" }) }));

  app.get("/metrics", async (_req, res) => {
    if (!deps.engine) return void res.status(404).json({ error: { status: 404, message: "the engine is not running in this process" } });
    res.set("content-type", deps.engine.metrics.contentType).send(await deps.engine.metrics.metrics());
  });

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", async (_req, res) => {
    try {
      await deps.db.query("select 1");
      const migrations = await migrationStatus(deps.db);
      const workers = deps.engine ? (deps.engine.alive() ? "alive" : "stalled") : "off";
      const ready = migrations.applied === migrations.known && workers !== "stalled";
      const status = migrations.applied !== migrations.known ? "migrating" : ready ? "ready" : "workers-stalled";
      res.status(ready ? 200 : 503).json({ status, database: "reachable", migrations, workers });
    } catch {
      res.status(503).json({ status: "unavailable", database: "unreachable" });
    }
  });

  // the support console at `/`: static files that talk to /admin/api only
  app.use(consoleRoutes());
  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: { status: 404, message: "not found", hint: `SCIM lives under ${SCIM_PATH}, the admin API under /admin/api` } });
  });
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    deps.log.error("unhandled request error", { path: req.path, error });
    if (!res.headersSent) res.status(500).json({ error: { status: 500, message: "internal error; the bridge has logged it" } });
  });
  return app;
}
