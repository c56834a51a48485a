import type { Db } from "../storage/db.js";
import type { EngineSettings } from "./settings.js";

const BREAKER_CAP_MS = 10 * 60_000;

/**
 * The circuit breaker: counts a target's retryable failures in a row on its row (shared by every
 * replica). From `breakerThreshold` on, each further failure pauses the target — for the cooldown,
 * doubled per failure past the threshold, capped at 10 minutes — instead of burning attempts.
 * Returns the pause's end when the breaker opened.
 */
export async function recordTargetFailure(db: Db, targetId: string, now: Date, settings: EngineSettings, message: string): Promise<Date | null> {
  const result = await db.query<{ consecutive_failures: number }>(
    "update targets set consecutive_failures = consecutive_failures + 1 where id = $1 returning consecutive_failures",
    [targetId],
  );
  const failures = result.rows[0]?.consecutive_failures ?? 0;
  if (failures < settings.breakerThreshold) return null;
  const pauseMs = Math.min(BREAKER_CAP_MS, settings.breakerCooldownMs * 2 ** Math.min(10, failures - settings.breakerThreshold));
  const until = new Date(now.getTime() + pauseMs);
  await db.query(
    "update targets set paused_until = $2, pause_reason = $3 where id = $1 and (paused_until is null or paused_until < $2)",
    [targetId, until, `circuit breaker: ${failures} failures in a row, last: ${message}`],
  );
  return until;
}

/** A success closes the breaker. */
export async function recordTargetSuccess(db: Db, targetId: string): Promise<void> {
  await db.query("update targets set consecutive_failures = 0, pause_reason = null where id = $1 and consecutive_failures > 0", [targetId]);
}
