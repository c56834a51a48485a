import { TargetError } from "../connector-kit.js";
import type { Clock } from "./clock.js";

/**
 * One process's view of each target's limits: the pause a Retry-After or the circuit breaker set
 * (also stored on the target row, for every other worker and replica), and a token bucket for the
 * target's max requests per second. Calls wait for a token; a paused target refuses calls with a
 * `rate-limited` error, so the task is rescheduled to the pause's end instead of holding a slot.
 */
export class TargetGate {
  private readonly paused = new Map<string, Date>();
  private readonly buckets = new Map<string, { tokens: number; at: number; queue: Promise<void> }>();

  constructor(private readonly clock: Clock) {}

  /** Records a pause; keeps the later of two. */
  pause(targetId: string, until: Date): void {
    const current = this.paused.get(targetId);
    if (!current || current < until) this.paused.set(targetId, until);
  }

  pausedUntil(targetId: string): Date | null {
    const until = this.paused.get(targetId);
    if (!until) return null;
    if (until <= this.clock.now()) {
      this.paused.delete(targetId);
      return null;
    }
    return until;
  }

  /** Throws `rate-limited` while the target is paused. */
  check(targetId: string): void {
    const until = this.pausedUntil(targetId);
    if (until) throw new TargetError("rate-limited", `target paused until ${until.toISOString()}`, { retryAfterMs: until.getTime() - this.clock.now().getTime() });
  }

  /**
   * Waits for a request token of a target limited to `perSecond` (null: no limit). Real time, not
   * the injected clock: this is pacing, not a schedule. Burst is one second's worth, at most 10,
   * so a freshly idle target is not hit with a spike.
   */
  async acquire(targetId: string, perSecond: number | null): Promise<void> {
    this.check(targetId);
    if (perSecond === null) return;
    let bucket = this.buckets.get(targetId);
    const burst = Math.max(1, Math.min(10, perSecond));
    if (!bucket) {
      bucket = { tokens: burst, at: performance.now(), queue: Promise.resolve() };
      this.buckets.set(targetId, bucket);
    }
    const b = bucket;
    const turn = b.queue.then(async () => {
      for (;;) {
        const t = performance.now();
        b.tokens = Math.min(burst, b.tokens + ((t - b.at) * perSecond) / 1000);
        b.at = t;
        if (b.tokens >= 1) {
          b.tokens -= 1;
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.ceil(((1 - b.tokens) * 1000) / perSecond)));
      }
    });
    b.queue = turn;
    await turn;
    this.check(targetId);
  }
}
