import type { AddressInfo } from "node:net";
import { createServer, type Server } from "node:http";
import { baseUrl, type Config } from "./config.js";
import { createHandler, SCIM_PATH } from "./http/app.js";
import type { Logger } from "./log.js";
import { createScimAuthenticator } from "./scim/auth.js";
import { changeRecorders, type ChangeRecorder } from "./scim/changes.js";
import { bootstrapAdminToken } from "./storage/admin-tokens-repo.js";
import { createConnection, listConnections } from "./storage/connections-repo.js";
import { createBearerToken } from "./storage/credentials-repo.js";
import type { Db } from "./storage/db.js";
import { migrate } from "./storage/migrate.js";
import { openStorage } from "./storage/open.js";
import { scheduleMaintenance } from "./storage/maintenance.js";
import { builtInConnectors } from "../connectors/index.js";
import type { Clock } from "./engine/clock.js";
import { createEngine, type Engine } from "./engine/engine.js";
import { ConnectorRegistry, loadConnectorModules, loadConnectorsDir } from "./engine/registry.js";
import { loadSecretBox } from "./secret-box.js";
import { receiptIssuer } from "./evidence/receipt-issuer.js";
import { resealTargets } from "./engine/target-config.js";
import { scimActorStatement } from "./storage/audit-repo.js";

/** The built-in connector kinds plus the modules an app owner named or dropped into CONNECTORS_DIR. */
export async function installedConnectors(modules: readonly string[], dir?: string): Promise<ConnectorRegistry> {
  const registry = new ConnectorRegistry(builtInConnectors);
  await loadConnectorModules(registry, modules);
  if (dir !== undefined) await loadConnectorsDir(registry, dir);
  return registry;
}

/** What a first start created and must be shown once (the secrets are never stored in clear). */
export interface FirstRun {
  demo?: { name: string; scimUrl: string; token: string };
  adminToken?: string;
}

export interface RunningBridge {
  url: string;
  /** The engine, when it runs in this process. */
  engine?: Engine;
  scimUrl: string;
  db: Db;
  server: Server;
  firstRun: FirstRun;
  /** Stops accepting, waits for in-flight requests (up to shutdownTimeoutMs), closes storage. */
  close(): Promise<void>;
}

export interface StartOptions {
  log: Logger;
  /** Extra recorders on the change seam (the engine's, tests'). */
  recorders?: ChangeRecorder[];
  /** An already open database (tests); otherwise opened from the config. */
  db?: Db;
  /** Connector kinds (tests); otherwise the built-in ones plus config.connectorModules. */
  registry?: ConnectorRegistry;
  /** The engine's clock (tests). */
  clock?: Clock;
}

/** Composition: storage → migrations → bootstrap → HTTP. */
export async function startBridge(config: Config, options: StartOptions): Promise<RunningBridge> {
  const { log } = options;
  const db = options.db ?? (await openStorage(config));
  const applied = await migrate(db);
  if (applied.length > 0) log.info("migrations applied", { versions: applied, store: db.kind });

  const firstRun: FirstRun = {};
  const bootstrap = await bootstrapAdminToken(db, config.adminToken);
  if (bootstrap.created && bootstrap.token) firstRun.adminToken = bootstrap.token;

  const registry = options.registry ?? (await installedConnectors(config.connectorModules, config.connectorsDir));
  const secrets = await loadSecretBox({ keys: config.secretsKeys, dataDir: config.dataDir, sharedDatabase: db.kind === "pg" }, log);
  const resealed = await resealTargets(db, secrets);
  if (resealed.resealed > 0) log.info("target secrets sealed again with the newest SECRETS_KEY key", { targets: resealed.resealed, keyId: secrets.primaryKeyId });
  for (const failure of resealed.failures) log.error("a target's secrets cannot be opened with SECRETS_KEY; its tasks will escalate until the key is restored", failure);
  const engine = config.engineEnabled ? createEngine({ db, log, registry, settings: config.engine, secrets, ...(options.clock ? { clock: options.clock } : {}) }) : undefined;
  let listeningUrl = "";
  const receipts = engine
    ? receiptIssuer({ db, box: secrets, log: log.child({ module: "receipts" }), publicUrl: () => config.publicUrl ?? listeningUrl, clock: engine.clock })
    : undefined;
  const authenticator = createScimAuthenticator(db, log.child({ module: "auth" }));
  const handler = createHandler({
    db,
    log,
    authenticator,
    // the audit log names the IdP connection as the actor of each SCIM write and what it queued
    recorder: changeRecorders({ statements: (change) => [scimActorStatement(change.connectionId)] }, ...(engine ? [engine.recorder] : []), ...(options.recorders ?? [])),
    ...(engine ? { engine: { clock: engine.clock, registry, wake: () => engine.wake(), metrics: engine.metrics.registry, alive: () => engine.alive(), secrets, ...(receipts ? { receipts } : {}) } } : {}),
    limits: { maxResults: config.maxResults, bulkMaxOperations: config.bulkMaxOperations, maxBodyBytes: config.maxBodyBytes },
    publicUrl: config.publicUrl,
  });
  const server = createServer(handler);
  server.keepAliveTimeout = 65_000; // longer than common load balancers' idle timeout
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = baseUrl(config, port);
  listeningUrl = url;
  const scimUrl = url + SCIM_PATH;

  if (config.demoConnection && (await listConnections(db)).length === 0) {
    const demo = await db.transaction(async (tx) => {
      const connection = await createConnection(tx, "demo");
      return createBearerToken(tx, connection.id, "demo");
    });
    firstRun.demo = { name: "demo", scimUrl, token: demo.token };
    log.info("demo connection created", { connection: "demo", credentialId: demo.credential.id });
  }
  await engine?.start();
  await receipts?.start();
  const stopMaintenance = scheduleMaintenance(db, log.child({ module: "storage" }));
  log.info("listening", { event: "listening", url, scimUrl, store: db.kind });

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      const timer = setTimeout(() => {
        log.warn("shutdown timeout: closing connections still in flight", { shutdownTimeoutMs: config.shutdownTimeoutMs });
        server.closeAllConnections();
      }, config.shutdownTimeoutMs);
      timer.unref();
      server.closeIdleConnections();
      await drained;
      clearTimeout(timer);
      await receipts?.stop();
      await engine?.stop();
      stopMaintenance();
      await authenticator.settled();
      await db.close();
      log.info("stopped", { event: "stopped" });
    })());
  return { url, scimUrl, db, server, firstRun, close, ...(engine ? { engine } : {}) };
}
