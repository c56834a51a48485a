import { randomUUID } from "node:crypto";
import { setMaxListeners } from "node:events";
import { hostname } from "node:os";
import { claimTasks, escalateOverdue, nextDueAt, releaseTask, type ClaimedTask } from "../storage/tasks-repo.js";
import { addMs } from "./clock.js";
import { runTask, type EngineParts, type RunOutcome } from "./run-task.js";

export type WorkerDeps = EngineParts;

/**
 * One process's task runner: claims due tasks up to its concurrency (and each target's), runs
 * them, and claims again as each one finishes. It wakes on a notification (`wake()`: in-process
 * after a commit, or a PostgreSQL NOTIFY), on a timer set for the next task it knows is due, and
 * on a slow poll as the fallback for work queued by other replicas.
 */
export class Worker {
  readonly id = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly running = new Map<string, { targetId: string; done: Promise<RunOutcome | void> }>();
  private readonly controller = new AbortController();
  private claiming = false;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  private started = false;
  /** When the loop last completed a claim (readiness: the workers are alive). */
  lastClaimAt: Date | null = null;

  constructor(private readonly deps: WorkerDeps) {
    // Each running task links its own signal to this one; more than ten at once is normal here.
    setMaxListeners(0, this.controller.signal);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.poll = setInterval(() => {
      void this.sweep().catch((error: unknown) => this.deps.log.error("escalating overdue tasks failed; trying again at the next poll", { error }));
      this.wake();
    }, this.deps.settings.pollIntervalMs);
    this.poll.unref();
    this.wake();
  }

  get stopping(): boolean {
    return this.controller.signal.aborted;
  }

  /** Claim now (coalesced: a wake during a claim makes one more claim after it). */
  wake(): void {
    if (this.stopping || !this.started) return;
    if (this.claiming) {
      this.again = true;
      return;
    }
    void this.fill();
  }

  private async fill(): Promise<void> {
    this.claiming = true;
    try {
      do {
        this.again = false;
        const free = this.deps.settings.concurrency - this.running.size;
        if (free <= 0) break;
        const claimed = await this.claim(free);
        for (const task of claimed) this.launch(task);
        if (claimed.length === free) this.again = true;
        else if (claimed.length === 0) await this.sleepUntilDue();
      } while (this.again && !this.stopping);
    } catch (error) {
      this.deps.log.error("claiming tasks failed; trying again at the next poll", { error });
    } finally {
      this.claiming = false;
    }
  }

  private async claim(limit: number): Promise<ClaimedTask[]> {
    const perTarget = new Map<string, number>();
    for (const run of this.running.values()) perTarget.set(run.targetId, (perTarget.get(run.targetId) ?? 0) + 1);
    const claimed = await claimTasks(this.deps.db, { workerId: this.id, now: this.deps.clock.now(), leaseMs: this.deps.settings.leaseMs, limit, running: perTarget, runningIds: [...this.running.keys()] });
    this.lastClaimAt = this.deps.clock.now();
    return claimed;
  }

  private launch(task: ClaimedTask): void {
    const done = runTask(task, { ...this.deps, signal: this.controller.signal, workerId: this.id })
      .then((outcome) => {
        if (outcome === "probing" || outcome === "retrying") this.dueSoon();
        return outcome;
      })
      .catch((error: unknown) => {
        // The database failed under the task: its lease expires and it is claimed again.
        this.deps.log.error(`Task ${task.id} in target ${task.target.name} stopped on a storage error; it resumes when its lease expires`, { error });
      })
      .finally(() => {
        this.running.delete(task.id);
        this.wake();
      });
    this.running.set(task.id, { targetId: task.target.id, done });
  }

  /** Something was scheduled for later: find out when the next task is due. */
  private dueSoon(): void {
    if (!this.claiming) void this.sleepUntilDue().catch(() => {});
  }

  private async sleepUntilDue(): Promise<void> {
    const now = this.deps.clock.now();
    const next = await nextDueAt(this.deps.db, now);
    if (!next || this.stopping) return;
    // Due now but not claimed means not claimable (a target at its limit): a finishing task wakes us.
    const inMs = next.getTime() - now.getTime();
    if (inMs >= this.deps.settings.pollIntervalMs) return; // the poll comes first
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.wake(), inMs + 1);
    this.timer.unref();
  }

  /** Escalates tasks whose deadline passed while they waited (a paused target, a long queue). */
  async sweep(): Promise<number> {
    const now = this.deps.clock.now();
    const targets = await escalateOverdue(this.deps.db, now, addMs(now, this.deps.settings.escalatedProbeIntervalMs));
    for (const target of targets) this.deps.metrics.escalated(target, "deadline");
    if (targets.length > 0) this.deps.log.warn(`Escalated ${targets.length} task(s) whose deadline passed before they could run`, { targets: [...new Set(targets)] });
    return targets.length;
  }

  /**
   * For tests on an injected clock: runs every task due now, batch after batch, until none is
   * due; tasks scheduled for later wait for the clock to move. Returns how many runs it made.
   */
  async drain(maxRuns = 100_000): Promise<number> {
    let runs = 0;
    await this.sweep();
    for (;;) {
      const claimed = await this.claim(this.deps.settings.concurrency);
      if (claimed.length === 0) return runs;
      runs += claimed.length;
      await Promise.all(claimed.map((task) => runTask(task, { ...this.deps, signal: this.controller.signal, workerId: this.id })));
      if (runs >= maxRuns) throw new Error(`drain made ${runs} runs without the queue emptying`);
    }
  }

  /** Stops claiming, aborts running calls and gives their tasks back (or leaves them to their lease). */
  async stop(timeoutMs = 5_000): Promise<void> {
    clearInterval(this.poll);
    clearTimeout(this.timer);
    const inFlight = [...this.running.entries()];
    this.controller.abort(new Error("shutting down"));
    const settled = Promise.allSettled(inFlight.map(([, run]) => run.done));
    await Promise.race([settled, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
    await Promise.allSettled(inFlight.map(([taskId]) => releaseTask(this.deps.db, { taskId, workerId: this.id })));
  }
}
