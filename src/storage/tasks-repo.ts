import type { Account, Intent, Subject } from "../connector-kit.js";
import type { Db } from "./db.js";
import { TARGET_COLUMNS, targetFromRow, type Target, type TargetRow } from "./targets-repo.js";

/**
 * The task table is the queue (DESIGN.md "Storage"): state and schedule live in one row and
 * change in one statement. Every write a worker makes is conditional on still holding the task's
 * lease and the task still being open, so a task cancelled or re-claimed under a worker is left
 * alone (graphile-worker src/sql/completeJobs.ts checks `locked_by` the same way).
 */
export type TaskState = "queued" | "revoking" | "verifying" | "verified" | "escalated" | "cancelled";
export const OPEN_TASK_STATES: readonly TaskState[] = ["queued", "revoking", "verifying", "escalated"];
/** The open states as a SQL list, for `state in ${OPEN_STATES_SQL}`. */
export const OPEN_STATES_SQL = `(${OPEN_TASK_STATES.map((state) => `'${state}'`).join(", ")})`;
const OPEN = OPEN_STATES_SQL;

/** One completed step: `acknowledged` marks a step no API can show (observable: false). */
export interface StepRecord {
  name: string;
  outcome: "done" | "already-done" | "planned";
  acknowledged?: true;
  at: string;
  /** What the step's call answered (ctx.note). */
  evidence?: string;
  /** An acknowledged step's horizon: tokens it could not reach expire by then (ctx.note). */
  tokensExpireAt?: string;
}

export interface ProbeRecord {
  revoked: boolean;
  evidence: string;
  at: string;
  dryRun?: true;
}

export type AccountRecord = { found: false; at: string; evidence: string } | { found: true; account: Account; at: string };

export interface Task {
  id: string;
  operationId: string;
  targetId: string;
  intent: Intent;
  state: TaskState;
  held: boolean;
  dryRun: boolean;
  runAt: Date;
  deadlineAt: Date;
  attempts: number;
  probes: number;
  account: AccountRecord | null;
  steps: StepRecord[];
  lastError: string | null;
  lastErrorKind: string | null;
  lastErrorAt: Date | null;
  evidence: ProbeRecord | null;
  reason: string | null;
  lockedBy: string | null;
  lockedUntil: Date | null;
  escalatedAt: Date | null;
  resolution: { by: string; at: string; note: string } | null;
  createdAt: Date;
  updatedAt: Date;
  verifiedAt: Date | null;
}

export interface TaskRow {
  [key: string]: unknown;
  id: string;
  operation_id: string;
  target_id: string;
  intent: Intent;
  state: TaskState;
  held: boolean;
  dry_run: boolean;
  run_at: Date;
  deadline_at: Date;
  attempts: number;
  probes: number;
  account: AccountRecord | null;
  steps: StepRecord[];
  last_error: string | null;
  last_error_kind: string | null;
  last_error_at: Date | null;
  evidence: ProbeRecord | null;
  reason: string | null;
  locked_by: string | null;
  locked_until: Date | null;
  escalated_at: Date | null;
  resolution: Task["resolution"];
  created_at: Date;
  updated_at: Date;
  verified_at: Date | null;
}

export const taskFromRow = (row: TaskRow): Task => ({
  id: row.id,
  operationId: row.operation_id,
  targetId: row.target_id,
  intent: row.intent,
  state: row.state,
  held: row.held,
  dryRun: row.dry_run,
  runAt: row.run_at,
  deadlineAt: row.deadline_at,
  attempts: row.attempts,
  probes: row.probes,
  account: row.account,
  steps: row.steps,
  lastError: row.last_error,
  lastErrorKind: row.last_error_kind,
  lastErrorAt: row.last_error_at,
  evidence: row.evidence,
  reason: row.reason,
  lockedBy: row.locked_by,
  lockedUntil: row.locked_until,
  escalatedAt: row.escalated_at,
  resolution: row.resolution,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  verifiedAt: row.verified_at,
});

/** A claimed task with what running it needs: its target and its subject. */
export interface ClaimedTask extends Task {
  target: Target;
  subject: Subject;
}

export interface ClaimRequest {
  workerId: string;
  now: Date;
  leaseMs: number;
  limit: number;
  /** Tasks this process already runs per target: a target's free slots are its max concurrency minus these. */
  running: ReadonlyMap<string, number>;
  /** Task ids this process runs now: never claimed twice, even if a lease renewal came late. */
  runningIds?: readonly string[];
}

/**
 * Claims due tasks (FOR UPDATE SKIP LOCKED, graphile-worker src/sql/getJobs.ts): open, not held,
 * due, lease free or expired, target enabled and not paused, at most the target's free slots.
 * Each target's earliest due tasks are looked up on their own (tasks_due_by_target), so a slow
 * target's backlog never hides another target's work. A queued task becomes `revoking` as claimed.
 */
export async function claimTasks(db: Db, request: ClaimRequest): Promise<ClaimedTask[]> {
  const busyIds = [...request.running.keys()];
  const busyCounts = busyIds.map((id) => request.running.get(id) ?? 0);
  const result = await db.query<TaskRow & { subject: Subject; target: TargetRow }>(
    `with slots as (
       select g.id, g.max_concurrency - coalesce(b.running, 0) as free from targets g
       left join unnest($5::uuid[], $6::int[]) as b(target_id, running) on b.target_id = g.id
       where g.enabled and (g.paused_until is null or g.paused_until <= $1) and g.max_concurrency - coalesce(b.running, 0) > 0),
     candidates as (
       select c.id, c.run_at from slots s cross join lateral (
         select t.id, t.run_at from tasks t
         where t.target_id = s.id and t.state in ${OPEN} and not t.held and t.resolution is null and t.run_at <= $1
           and (t.locked_until is null or t.locked_until <= $1)
           and not (t.id = any($7::uuid[]))
         order by t.run_at
         limit least($4, s.free)
         for update of t skip locked) c),
     chosen as (select id from candidates order by run_at limit $4)
     update tasks set locked_by = $2, locked_until = $3, state = case when tasks.state = 'queued' then 'revoking' else tasks.state end
     from chosen where tasks.id = chosen.id
     returning tasks.*,
       (select o.subject from operations o where o.id = tasks.operation_id) as subject,
       (select to_jsonb(g) from (select ${TARGET_COLUMNS} from targets where id = tasks.target_id) g) as target`,
    [request.now, request.workerId, new Date(request.now.getTime() + request.leaseMs), request.limit, busyIds, busyCounts, request.runningIds ?? []],
  );
  return result.rows.map((row) => ({
    ...taskFromRow(row),
    subject: row.subject,
    target: targetFromRow(reviveTarget(row.target)),
  }));
}

/** A target row that travelled as JSON: timestamps come back as strings. */
function reviveTarget(row: TargetRow): TargetRow {
  return {
    ...row,
    paused_until: row.paused_until ? new Date(row.paused_until) : null,
    created_at: new Date(row.created_at),
    updated_at: row.updated_at ? new Date(row.updated_at) : null,
  };
}

/** The worker's lease on a task: all its writes go through here and fail softly when the lease is gone. */
export interface Lease {
  taskId: string;
  workerId: string;
}

const held = (lease: Lease) => [lease.taskId, lease.workerId];
const LEASED = `id = $1 and locked_by = $2 and state in ${OPEN}`;

/** Extends the lease; false when the task was cancelled or taken over. */
export async function renewLease(db: Db, lease: Lease, until: Date): Promise<boolean> {
  const result = await db.query(`update tasks set locked_until = $3 where ${LEASED}`, [...held(lease), until]);
  return result.rowCount === 1;
}

/**
 * Records the account (when just resolved) and the completed steps: a restart resumes after them.
 * Answers whether the lease still holds and the target's pause as stored now, so a Retry-After
 * another replica received stops this worker at its next step too.
 */
export async function checkpoint(
  db: Db,
  lease: Lease,
  progress: { account: AccountRecord; steps: StepRecord[]; state: TaskState; now: Date },
): Promise<{ held: boolean; targetPausedUntil: Date | null }> {
  const result = await db.query<{ paused_until: Date | null }>(
    `update tasks set account = $3, steps = $4, state = case when state = 'escalated' then state else $5 end, attempts = 0, updated_at = $6 where ${LEASED}
     returning (select g.paused_until from targets g where g.id = tasks.target_id) as paused_until`,
    [...held(lease), JSON.stringify(progress.account), JSON.stringify(progress.steps), progress.state, progress.now],
  );
  const row = result.rows[0];
  return { held: row !== undefined, targetPausedUntil: row?.paused_until ? new Date(row.paused_until) : null };
}

/** Observed revoked (or observed absent): the task is done, its lease released. */
export async function markVerified(db: Db, lease: Lease, done: { account: AccountRecord; steps: StepRecord[]; evidence: ProbeRecord; now: Date }): Promise<boolean> {
  const result = await db.query(
    `update tasks set state = 'verified', account = $3, steps = $4, evidence = $5, probes = probes + 1, verified_at = $6, updated_at = $6,
       locked_by = null, locked_until = null, held = false
     where ${LEASED}`,
    [...held(lease), JSON.stringify(done.account), JSON.stringify(done.steps), JSON.stringify(done.evidence), done.now],
  );
  return result.rowCount === 1;
}

/** A dry run ends after its probe: no writes were made, so nothing can be verified. */
export async function finishDryRun(db: Db, lease: Lease, done: { account: AccountRecord; steps: StepRecord[]; evidence: ProbeRecord; now: Date; reason: string }): Promise<boolean> {
  const result = await db.query(
    `update tasks set state = 'cancelled', account = $3, steps = $4, evidence = $5, probes = probes + 1, reason = $7, updated_at = $6,
       locked_by = null, locked_until = null
     where ${LEASED}`,
    [...held(lease), JSON.stringify(done.account), JSON.stringify(done.steps), JSON.stringify(done.evidence), done.now, done.reason],
  );
  return result.rowCount === 1;
}

/** Still sees access: probe again at `runAt`. */
export async function scheduleProbe(db: Db, lease: Lease, next: { account: AccountRecord; steps: StepRecord[]; evidence: ProbeRecord; runAt: Date; now: Date }): Promise<boolean> {
  const result = await db.query(
    `update tasks set state = case when state = 'escalated' then state else 'verifying' end, account = $3, steps = $4, evidence = $5,
       probes = probes + 1, run_at = $6, updated_at = $7, locked_by = null, locked_until = null
     where ${LEASED}`,
    [...held(lease), JSON.stringify(next.account), JSON.stringify(next.steps), JSON.stringify(next.evidence), next.runAt, next.now],
  );
  return result.rowCount === 1;
}

/** A failure to retry at `runAt` (backoff, Retry-After or a paused target). */
export async function scheduleRetry(db: Db, lease: Lease, failure: { error: string; kind: string; runAt: Date; now: Date; countAttempt: boolean }): Promise<boolean> {
  const result = await db.query(
    `update tasks set attempts = attempts + $7, last_error = $3, last_error_kind = $4, last_error_at = $6, run_at = $5, updated_at = $6,
       locked_by = null, locked_until = null
     where ${LEASED}`,
    [...held(lease), failure.error, failure.kind, failure.runAt, failure.now, failure.countAttempt ? 1 : 0],
  );
  return result.rowCount === 1;
}

/**
 * Escalates (deadline passed, or an error no retry will fix) and writes the notice to announce in
 * the same statement; escalated work stays open and is probed again at `runAt` (a slow rate).
 */
export async function escalate(
  db: Db,
  lease: Lease,
  escalation: { reason: string; error?: { message: string; kind: string }; evidence?: ProbeRecord; account?: AccountRecord; steps?: StepRecord[]; runAt: Date; now: Date; notice: Record<string, unknown> },
): Promise<boolean> {
  const result = await db.query(
    `with esc as (
       update tasks set state = 'escalated', reason = $3, escalated_at = coalesce(escalated_at, $5), run_at = $4, updated_at = $5,
         last_error = coalesce($6, last_error), last_error_kind = coalesce($7, last_error_kind),
         last_error_at = case when $6::text is null then last_error_at else $5 end,
         evidence = coalesce($8, evidence), account = coalesce($9, account), steps = coalesce($10, steps),
         locked_by = null, locked_until = null
       where ${LEASED} and state <> 'escalated'
       returning id)
     insert into escalation_notices (task_id, body, created_at, next_at) select id, $11, $5, $5 from esc`,
    [
      ...held(lease), escalation.reason, escalation.runAt, escalation.now,
      escalation.error?.message ?? null, escalation.error?.kind ?? null,
      escalation.evidence ? JSON.stringify(escalation.evidence) : null,
      escalation.account ? JSON.stringify(escalation.account) : null,
      escalation.steps ? JSON.stringify(escalation.steps) : null,
      JSON.stringify(escalation.notice),
    ],
  );
  return result.rowCount === 1;
}

/** Gives the task back without a verdict (shutdown): due again at once for whoever claims it. */
export async function releaseTask(db: Db, lease: Lease): Promise<void> {
  await db.query(`update tasks set locked_by = null, locked_until = null where ${LEASED}`, held(lease));
}

export async function getTask(db: Db, id: string): Promise<Task | null> {
  const result = await db.query<TaskRow>("select * from tasks where id = $1", [id]);
  return result.rows[0] ? taskFromRow(result.rows[0]) : null;
}

export async function tasksOfOperation(db: Db, operationId: string): Promise<Task[]> {
  const result = await db.query<TaskRow>("select * from tasks where operation_id = $1 order by created_at, target_id", [operationId]);
  return result.rows.map(taskFromRow);
}

/**
 * The next moment something may become claimable: the earliest future run_at of an open task
 * (on the tasks_due index) or the end of a target's pause. Leases of a dead replica expiring are
 * left to the poll. Null: nothing scheduled.
 */
export async function nextDueAt(db: Db, now: Date): Promise<Date | null> {
  const result = await db.query<{ next: Date | null }>(
    `select least(
       (select min(run_at) from tasks where state in ${OPEN} and not held and resolution is null and run_at > $1),
       (select min(paused_until) from targets where enabled and paused_until > $1)) as next`,
    [now],
  );
  const next = result.rows[0]?.next;
  return next ? new Date(next) : null;
}

/**
 * Escalates open tasks whose deadline passed while nobody could run them (their target paused or
 * disabled, or the queue behind): the deadline is a promise to a person, kept even when no worker
 * gets to the task. They stay due for a worker to pick up, at the slow rate. Returns the escalated tasks' target names.
 */
export async function escalateOverdue(db: Db, now: Date, slowRunAt: Date): Promise<string[]> {
  const result = await db.query<{ target: string }>(
    `with overdue as (
       update tasks t set state = 'escalated', escalated_at = $1, updated_at = $1, run_at = greatest(t.run_at, $2),
         reason = case when t.state = 'verifying'
           then 'deadline passed (' || (select g.sla_ms from targets g where g.id = t.target_id) || ' ms) without an observed revocation; last probe: ' || coalesce(t.evidence ->> 'evidence', 'none')
           else 'deadline passed before the task could finish' || coalesce(' (last error: ' || t.last_error || ')', '')
             || coalesce((select ' (target paused: ' || g.pause_reason || ')' from targets g where g.id = t.target_id and g.paused_until > $1), '') end
       where t.state in ('queued', 'revoking', 'verifying') and not t.held and t.deadline_at <= $1
         and (t.locked_until is null or t.locked_until <= $1)
       returning t.id, t.operation_id, t.target_id, t.intent, t.reason)
     insert into escalation_notices (task_id, body, created_at, next_at)
     select o.id, jsonb_build_object('event', 'task.escalated', 'taskId', o.id, 'operationId', o.operation_id,
              'connectionId', op.connection_id, 'subject', jsonb_build_object('id', op.subject_id, 'userName', op.user_name),
              'target', jsonb_build_object('id', g.id, 'name', g.name, 'kind', g.kind), 'intent', o.intent, 'reason', o.reason), $1, $1
     from overdue o join operations op on op.id = o.operation_id join targets g on g.id = o.target_id
     returning body -> 'target' ->> 'name' as target`,
    [now, slowRunAt],
  );
  return result.rows.map((r) => r.target);
}
