import type { Logger } from "../log.js";
import type { ChangeRecorder } from "../scim/changes.js";
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
}

export interface Engine {
  /** The engine's recorder on the SCIM change seam: intents in the write's transaction. */
  readonly recorder: ChangeRecorder;
  readonly metrics: EngineMetrics;
  readonly worker: Worker;
  readonly clock: Clock;
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
  const worker = new Worker({ db: deps.db, clock, settings: deps.settings, registry: deps.registry, gate, log, metrics });
  const notifierDeps = { db: deps.db, clock, log, metrics, url: deps.settings.escalationWebhookUrl, timeoutMs: deps.settings.requestTimeoutMs };
  let unlisten: (() => Promise<void>) | undefined;
  let notices: NodeJS.Timeout | undefined;
  let started = false;

  const wake = () => {
    worker.wake();
    if (deps.db.kind === "pg" && started) void deps.db.query(`select pg_notify('${TASKS_CHANNEL}', '')`).catch(() => {});
  };
  const recorder = intentRecorder({ clock, guard: deps.settings.guard, dbKind: deps.db.kind, onQueued: () => worker.wake() });

  return {
    recorder,
    metrics,
    worker,
    clock,
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
