import type { Logger } from "../log.js";
import type { ChangeRecorder } from "../scim/changes.js";
import { ephemeralSecretBox, type SecretBox } from "../secret-box.js";
import type { Db } from "../storage/db.js";
import { systemClock, type Clock } from "./clock.js";
import { intentRecorder, TASKS_CHANNEL } from "./intents.js";
import { engineMetrics, type EngineMetrics } from "./metrics.js";
import { deliverNotices } from "./notifier.js";
import type { ConnectorRegistry } from "./registry.js";
import type { EngineSettings } from "./settings.js";
import { TargetGate } from "./target-gate.js";
import { Worker } from "./worker.js";

export interface EngineDeps {
  db: Db;
  log: Logger;
  registry: ConnectorRegistry;
  settings: EngineSettings;
  clock?: Clock;
  /** Opens the sealed secrets in target configs (Default: a random in-memory key, for tests). */
  secrets?: SecretBox;
}

export interface Engine {
  /** The engine's recorder on the SCIM change seam: intents in the write's transaction. */
  readonly recorder: ChangeRecorder;
  readonly metrics: EngineMetrics;
  readonly worker: Worker;
  readonly clock: Clock;
  /** The box that seals and opens target secrets; the admin routes seal with it. */
  readonly secrets: SecretBox;
  /** Starts the workers and the notice delivery. */
  start(): Promise<void>;
  /** Work became due (a commit, an admin action): claim now, here and — on PostgreSQL — in every replica. */
  wake(): void;
  /** Tests on an injected clock: runs all due tasks and due notices, then returns. */
  drain(): Promise<number>;
  /** Readiness: the worker loop has claimed within a few poll intervals. */
  alive(): boolean;
  stop(): Promise<void>;
}

/** Composition of the engine: recorder → queue → workers → connectors, plus metrics and notices. */
export function createEngine(deps: EngineDeps): Engine {
  const clock = deps.clock ?? systemClock;
  const log = deps.log.child({ module: "engine" });
  const metrics = engineMetrics(deps.db, clock);
  const gate = new TargetGate(clock);
  const secrets = deps.secrets ?? ephemeralSecretBox();
  const worker = new Worker({ db: deps.db, clock, settings: deps.settings, registry: deps.registry, gate, log, metrics, secrets });
  const notifierDeps = { db: deps.db, clock, log, metrics, url: deps.settings.escalationWebhookUrl, timeoutMs: deps.settings.requestTimeoutMs };
  let unlisten: (() => Promise<void>) | undefined;
  let notices: NodeJS.Timeout | undefined;
  let started = false;

  const wake = () => {
    worker.wake();
    if (deps.db.kind === "pg" && deps.db.listen) void deps.db.query(`select pg_notify('${TASKS_CHANNEL}', '')`).catch(() => {});
  };
  const activeUsers = activeUserCounts(deps.db, log);
  const recorder = intentRecorder({ clock, guard: deps.settings.guard, onQueued: wake, activeUsers });

  return {
    recorder,
    metrics,
    worker,
    clock,
    secrets,
    async start() {
      started = true;
      if (deps.db.listen) {
        unlisten = await deps.db.listen(TASKS_CHANNEL, () => worker.wake()).catch((error: unknown) => {
          log.warn("LISTEN failed; workers fall back to polling", { error, pollIntervalMs: deps.settings.pollIntervalMs });
          return undefined;
        });
      }
      worker.start();
      let delivering = false;
      notices = setInterval(() => {
        if (delivering) return;
        delivering = true;
        void deliverNotices(notifierDeps).catch((error: unknown) => log.error("delivering escalation notices failed", { error })).finally(() => (delivering = false));
      }, 5_000);
      notices.unref();
      log.info("engine started", { workerId: worker.id, concurrency: deps.settings.concurrency, connectors: deps.registry.ids() });
    },
    wake,
    async drain() {
      let runs = 0;
      for (;;) {
        const n = await worker.drain();
        runs += n;
        await deliverNotices(notifierDeps);
        if (n === 0) return runs;
      }
    },
    alive() {
      if (!started) return false;
      const last = worker.lastClaimAt;
      return last !== null && clock.now().getTime() - last.getTime() < Math.max(30_000, deps.settings.pollIntervalMs * 5);
    },
    async stop() {
      clearInterval(notices);
      await unlisten?.().catch(() => {});
      await worker.stop();
    },
  };
}

const ACTIVE_USERS_TTL_MS = 60_000;

/**
 * Each connection's active-user count for the guard's share rule, refreshed in the background at
 * most once a minute: undefined until the first count is in (the statement then counts itself).
 */
function activeUserCounts(db: Db, log: Logger): (connectionId: string) => number | undefined {
  const cache = new Map<string, { n: number | undefined; at: number; refreshing: boolean }>();
  return (connectionId) => {
    const now = Date.now();
    let entry = cache.get(connectionId);
    if (!entry) cache.set(connectionId, (entry = { n: undefined, at: 0, refreshing: false }));
    if (now - entry.at > ACTIVE_USERS_TTL_MS && !entry.refreshing) {
      const e = entry;
      e.refreshing = true;
      void db.query<{ n: number }>("select count(*)::int as n from scim_users where connection_id = $1 and active", [connectionId])
        .then((r) => { e.n = r.rows[0]?.n; e.at = Date.now(); })
        .catch((error: unknown) => log.warn("counting active users for the guard failed; the next deactivation counts in SQL", { error }))
        .finally(() => { e.refreshing = false; });
    }
    return entry.n;
  };
}
