import type { Logger } from "../log.js";
import type { Db } from "../storage/db.js";
import { addMs, type Clock } from "./clock.js";
import type { EngineMetrics } from "./metrics.js";
import { backoffMs } from "./retry-policy.js";

const CLAIM_MS = 60_000;
const RETRY_BASE_MS = 5_000;
const RETRY_CAP_MS = 3_600_000;

export interface NotifierDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  metrics: EngineMetrics;
  /** Where to POST; unset: notices are marked delivered (metric and log only). */
  url: string | undefined;
  timeoutMs: number;
}

/**
 * Delivers escalation notices (an outbox written with the escalation) to the webhook: a JSON
 * POST, retried with backoff until the receiver answers 2xx. A notice is claimed by moving its
 * `next_at` forward first, so two replicas never send it at the same time and a crash mid-send
 * only delays it.
 */
export async function deliverNotices(deps: NotifierDeps, limit = 20): Promise<number> {
  const now = deps.clock.now();
  const claimed = await deps.db.query<{ id: string; body: Record<string, unknown>; attempts: number }>(
    `update escalation_notices set next_at = $2, attempts = attempts + 1
     where id in (select id from escalation_notices where delivered_at is null and next_at <= $1 order by next_at limit $3 for update skip locked)
     returning id, body, attempts`,
    [now, addMs(now, CLAIM_MS), limit],
  );
  let delivered = 0;
  for (const notice of claimed.rows) {
    let error: string | null = null;
    if (deps.url) {
      try {
        const response = await fetch(deps.url, {
          method: "POST",
          headers: { "content-type": "application/json", "user-agent": "scim-bridge" },
          body: JSON.stringify({ ...notice.body, noticeId: String(notice.id), attempt: notice.attempts }),
          signal: AbortSignal.timeout(deps.timeoutMs),
        });
        if (!response.ok) error = `webhook answered ${response.status}`;
      } catch (e) {
        error = `webhook unreachable: ${(e as Error).message}`;
      }
    }
    const at = deps.clock.now();
    if (error === null) {
      await deps.db.query("update escalation_notices set delivered_at = $2, last_error = null where id = $1", [notice.id, at]);
      deps.metrics.notice("delivered");
      delivered++;
    } else {
      const next = addMs(at, backoffMs(notice.attempts, RETRY_BASE_MS, RETRY_CAP_MS));
      await deps.db.query("update escalation_notices set next_at = $2, last_error = $3 where id = $1", [notice.id, next, error]);
      deps.metrics.notice("failed");
      deps.log.warn(`Escalation notice ${notice.id} not delivered (attempt ${notice.attempts}): ${error}; next attempt at ${next.toISOString()}`);
    }
  }
  return delivered;
}
