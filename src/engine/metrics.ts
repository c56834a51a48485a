import client from "prom-client";
import type { Db } from "../storage/db.js";
import { OPEN_STATES_SQL } from "../storage/tasks-repo.js";
import type { Clock } from "./clock.js";

/**
 * Prometheus metrics of the engine (issue: "/metrics"). Counters and histograms are updated as
 * work happens; the state gauges (operations and tasks by state and target, queue depth, age of
 * the oldest due task) are read from the database when scraped, so every replica reports the
 * same truth. Each engine has its own registry: tests and replicas in one process never mix.
 */
export interface EngineMetrics {
  readonly registry: client.Registry;
  /** A connector call (find-account, a step, verify): latency and, when it failed, the error kind. */
  call(target: string, call: string, ms: number, errorKind: string | null): void;
  /** One HTTP request to a target (status 0: no answer). */
  request(target: string, method: string, status: number, ms: number): void;
  verified(target: string, msSinceQueued: number): void;
  escalated(target: string, cause: string): void;
  notice(outcome: "delivered" | "failed"): void;
}

/** How long one database snapshot serves scrapes: the state queries run at most this often. */
const SNAPSHOT_MS = 2_000;
const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const VERIFY_SECONDS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

export function engineMetrics(db: Db, clock: Clock): EngineMetrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: "scim_bridge_process_" });
  const callSeconds = new client.Histogram({ name: "scim_bridge_connector_call_seconds", help: "Connector calls (find-account, steps, verify) by target and call", labelNames: ["target", "call"], buckets: SECONDS, registers: [registry] });
  const callErrors = new client.Counter({ name: "scim_bridge_connector_call_errors_total", help: "Failed connector calls by target, call and error kind", labelNames: ["target", "call", "kind"], registers: [registry] });
  const requests = new client.Counter({ name: "scim_bridge_target_requests_total", help: "HTTP requests to targets by target, method and status (0: no answer)", labelNames: ["target", "method", "status"], registers: [registry] });
  const toVerified = new client.Histogram({ name: "scim_bridge_time_to_verified_seconds", help: "From a task being queued to its observed revocation, by target", labelNames: ["target"], buckets: VERIFY_SECONDS, registers: [registry] });
  const escalations = new client.Counter({ name: "scim_bridge_escalations_total", help: "Tasks escalated, by target and cause (deadline, auth, permanent)", labelNames: ["target", "cause"], registers: [registry] });
  const notices = new client.Counter({ name: "scim_bridge_escalation_notices_total", help: "Escalation webhook deliveries by outcome", labelNames: ["outcome"], registers: [registry] });

  // The state gauges are read from the database once per scrape: each gauge's collect awaits the
  // same snapshot (prom-client collects all metrics concurrently).
  let snapshot: { at: number; state: Promise<EngineState | null> } | undefined;
  const state = (): Promise<EngineState | null> => {
    const at = Date.now();
    if (!snapshot || at - snapshot.at > SNAPSHOT_MS) snapshot = { at, state: readState(db, clock.now()).catch(() => null) };
    return snapshot.state;
  };
  const gauge = (name: string, help: string, labelNames: string[], fill: (g: client.Gauge, s: EngineState) => void) =>
    new client.Gauge({
      name, help, labelNames, registers: [registry],
      async collect() {
        const s = await state();
        this.reset();
        if (s) fill(this, s);
      },
    });
  gauge("scim_bridge_tasks", "Tasks by state and target", ["state", "target"], (g, s) => {
    for (const row of s.tasks) g.set({ state: row.state, target: row.target }, row.n);
  });
  gauge("scim_bridge_operations", "Operations by kind and status (held, released, rejected, cancelled)", ["kind", "status"], (g, s) => {
    for (const row of s.operations) g.set({ kind: row.kind, status: row.status }, row.n);
  });
  gauge("scim_bridge_queue_due_tasks", "Open, unheld tasks due now (the queue depth)", [], (g, s) => g.set(s.due));
  gauge("scim_bridge_queue_oldest_due_age_seconds", "Age of the oldest due task (0 when none is due)", [], (g, s) => g.set(s.oldestDueAgeSeconds));
  gauge("scim_bridge_target_paused", "1 while a target is paused by a Retry-After or its circuit breaker", ["target"], (g, s) => {
    for (const row of s.targets) g.set({ target: row.name }, row.paused ? 1 : 0);
  });
  gauge("scim_bridge_state_scrape_ok", "1 when the last scrape could read the engine's state from the database", [], (g, s) => g.set(s ? 1 : 0));

  return {
    registry,
    call(target, call, ms, errorKind) {
      callSeconds.observe({ target, call }, ms / 1000);
      if (errorKind) callErrors.inc({ target, call, kind: errorKind });
    },
    request(target, method, status, ms) {
      void ms;
      requests.inc({ target, method, status: String(status) });
    },
    verified(target, msSinceQueued) {
      toVerified.observe({ target }, Math.max(0, msSinceQueued) / 1000);
    },
    escalated(target, cause) {
      escalations.inc({ target, cause });
    },
    notice(outcome) {
      notices.inc({ outcome });
    },
  };
}

interface EngineState {
  tasks: { state: string; target: string; n: number }[];
  operations: { kind: string; status: string; n: number }[];
  due: number;
  oldestDueAgeSeconds: number;
  targets: { name: string; paused: boolean }[];
}

async function readState(db: Db, now: Date): Promise<EngineState> {
  const byTask = await db.query<{ state: string; target: string; n: number }>("select t.state, g.name as target, count(*)::int as n from tasks t join targets g on g.id = t.target_id group by 1, 2");
  const byOp = await db.query<{ kind: string; status: string; n: number }>("select kind, status, count(*)::int as n from operations group by 1, 2");
  const queue = await db.query<{ n: number; oldest: Date | null }>(
    `select count(*)::int as n, min(run_at) as oldest from tasks where state in ${OPEN_STATES_SQL} and not held and resolution is null and run_at <= $1`,
    [now],
  );
  const targets = await db.query<{ name: string; paused: boolean }>("select name, coalesce(paused_until > $1, false) as paused from targets", [now]);
  const oldest = queue.rows[0]?.oldest;
  return {
    tasks: byTask.rows,
    operations: byOp.rows,
    due: queue.rows[0]?.n ?? 0,
    oldestDueAgeSeconds: oldest ? Math.max(0, (now.getTime() - new Date(oldest).getTime()) / 1000) : 0,
    targets: targets.rows,
  };
}
