import type { Intent, Subject } from "../connector-kit.js";
import type { Db } from "../storage/db.js";
import { OPEN_STATES_SQL, OPEN_TASK_STATES, taskFromRow, type Task, type TaskRow, type TaskState } from "../storage/tasks-repo.js";
import type { Clock } from "./clock.js";
import { timelineOf, type TimelineEntry } from "./timeline.js";

/**
 * Support actions as typed functions (STYLE.md: like graphile-worker's WorkerUtils): the admin API
 * calls these, the console calls the admin API. Each returns what it changed; none calls a target.
 * After one that makes work due, the caller wakes the workers (`Engine.wake`).
 */
export type OperationStatus = "held" | "released" | "rejected" | "cancelled";
export type OperationKind = "deactivate" | "delete" | "revoke-entitlement";

export interface TaskView {
  id: string;
  target: { id: string; name: string; kind: string; mode: "live" | "dry-run" };
  intent: Intent;
  state: TaskState;
  /** Escalated and closed by a person: their resolution. */
  resolution: Task["resolution"];
  stepsDone: Task["steps"];
  attempts: number;
  probes: number;
  lastError: { message: string; kind: string | null; at: Date | null } | null;
  /** When the engine will next work on it (open tasks only). */
  nextAttemptAt: Date | null;
  deadlineAt: Date;
  evidence: Task["evidence"];
  account: Task["account"];
  reason: string | null;
  held: boolean;
  verifiedAt: Date | null;
  /** What happened to it, oldest first. */
  timeline: TimelineEntry[];
}

export interface OperationView {
  id: string;
  connectionId: string;
  kind: OperationKind;
  status: OperationStatus;
  /** The operation's worst task (DESIGN.md): what support staff see first. */
  state: TaskState | "held" | "rejected" | "no-targets";
  subject: Pick<Subject, "id" | "userName">;
  groupId: string | null;
  reason: string | null;
  createdAt: Date;
  extendedAt: Date | null;
  decision: { by: string; at: Date; note: string | null } | null;
  tasks: TaskView[];
}

/** Worst first: what needs a person before what is still running before what is done. */
const SEVERITY: readonly TaskState[] = ["escalated", "revoking", "queued", "verifying", "cancelled", "verified"];

export function worstState(op: { status: OperationStatus }, tasks: readonly Pick<TaskView, "state" | "resolution">[]): OperationView["state"] {
  if (op.status === "held") return "held";
  if (op.status === "rejected") return "rejected";
  if (tasks.length === 0) return op.status === "cancelled" ? "cancelled" : "no-targets";
  const open = tasks.filter((t) => !(t.state === "escalated" && t.resolution));
  const pool = open.length > 0 ? open : tasks;
  return [...pool].sort((a, b) => SEVERITY.indexOf(a.state) - SEVERITY.indexOf(b.state))[0]!.state;
}

interface OperationRow {
  [key: string]: unknown;
  id: string;
  connection_id: string;
  kind: OperationKind;
  status: OperationStatus;
  subject: Subject;
  group_id: string | null;
  reason: string | null;
  created_at: Date;
  extended_at: Date | null;
  decided_by: string | null;
  decided_at: Date | null;
  decision_note: string | null;
}

type TaskWithTargetRow = TaskRow & { target_name: string; target_kind: string; target_mode: "live" | "dry-run" };


function taskView(row: TaskWithTargetRow): TaskView {
  const t = taskFromRow(row);
  const open = OPEN_TASK_STATES.includes(t.state) && !t.resolution;
  return {
    id: t.id,
    target: { id: t.targetId, name: row.target_name, kind: row.target_kind, mode: row.target_mode },
    intent: t.intent,
    state: t.state,
    resolution: t.resolution,
    stepsDone: t.steps,
    attempts: t.attempts,
    probes: t.probes,
    lastError: t.lastError ? { message: t.lastError, kind: t.lastErrorKind, at: t.lastErrorAt } : null,
    nextAttemptAt: open && !t.held ? t.runAt : null,
    deadlineAt: t.deadlineAt,
    evidence: t.evidence,
    account: t.account,
    reason: t.reason,
    held: t.held,
    verifiedAt: t.verifiedAt,
    timeline: timelineOf(t),
  };
}

async function views(db: Db, ops: OperationRow[]): Promise<OperationView[]> {
  if (ops.length === 0) return [];
  const tasks = await db.query<TaskWithTargetRow>(
    `select t.*, g.name as target_name, g.kind as target_kind, g.mode as target_mode
     from tasks t join targets g on g.id = t.target_id where t.operation_id = any($1::uuid[]) order by g.name`,
    [ops.map((o) => o.id)],
  );
  return ops.map((op) => {
    const mine = tasks.rows.filter((t) => t.operation_id === op.id).map(taskView);
    return {
      id: op.id,
      connectionId: op.connection_id,
      kind: op.kind,
      status: op.status,
      state: worstState(op, mine),
      subject: { id: op.subject.id, userName: op.subject.userName },
      groupId: op.group_id,
      reason: op.reason,
      createdAt: op.created_at,
      extendedAt: op.extended_at,
      decision: op.decided_by && op.decided_at ? { by: op.decided_by, at: op.decided_at, note: op.decision_note } : null,
      tasks: mine,
    };
  });
}

/** A person's operations in one connection, newest first (userName matched case-insensitively, RFC 7643 §4.1). */
export async function operationsOf(db: Db, connectionId: string, userName: string, limit = 50): Promise<OperationView[]> {
  const ops = await db.query<OperationRow>(
    "select * from operations where connection_id = $1 and lower(user_name) = lower($2) order by created_at desc, id limit $3",
    [connectionId, userName, limit],
  );
  return views(db, ops.rows);
}

export async function getOperation(db: Db, id: string): Promise<OperationView | null> {
  const ops = await db.query<OperationRow>("select * from operations where id = $1", [id]);
  return (await views(db, ops.rows))[0] ?? null;
}

/** Operations held by the guard, oldest first; optionally of one connection. */
export async function heldOperations(db: Db, connectionId?: string, limit = 1000): Promise<OperationView[]> {
  const ops = await db.query<OperationRow>(
    "select * from operations where status = 'held' and ($1::uuid is null or connection_id = $1) order by created_at, id limit $2",
    [connectionId ?? null, limit],
  );
  return views(db, ops.rows);
}

export interface Actor {
  /** Who did it (an admin token's name): recorded, shown, never a secret. */
  by: string;
  note?: string;
}

/**
 * Retry now: an operation's open tasks (or one task) become due at once with their attempt count
 * reset. A target's pause (Retry-After, breaker) still holds: nothing calls it before its time.
 */
export async function retryNow(db: Db, clock: Clock, ref: { operationId?: string; taskId?: string }): Promise<number> {
  const result = await db.query(
    `update tasks set run_at = $3, attempts = 0, updated_at = $3
     where (($1::uuid is not null and operation_id = $1) or ($2::uuid is not null and id = $2))
       and state in ${OPEN_STATES_SQL} and not held and resolution is null`,
    [ref.operationId ?? null, ref.taskId ?? null, clock.now()],
  );
  return result.rowCount;
}

/** Closes an escalation by a person's recorded resolution. The task stays `escalated` (never `verified`: nothing observed it) and is no longer probed. */
export async function resolveEscalation(db: Db, clock: Clock, taskId: string, actor: Actor & { note: string }): Promise<boolean> {
  const now = clock.now();
  const result = await db.query(
    `update tasks set resolution = $2, updated_at = $3, locked_by = null, locked_until = null
     where id = $1 and state = 'escalated' and resolution is null`,
    [taskId, JSON.stringify({ by: actor.by, at: now.toISOString(), note: actor.note }), now],
  );
  return result.rowCount === 1;
}

const HELD_MATCH = "status = 'held' and (id = any($1::uuid[]) or connection_id = $2)";

/** Releases held operations (by id, or every held one of a connection): their tasks run now, their deadlines start now. */
export async function approveHeld(db: Db, clock: Clock, ref: { operationIds?: string[]; connectionId?: string }, actor: Actor): Promise<number> {
  const now = clock.now();
  const match = [ref.operationIds ?? [], ref.connectionId ?? null];
  const [, ops] = await db.batch([
    {
      text: `update tasks set held = false, run_at = $3, updated_at = $3,
               deadline_at = $3::timestamptz + (select g.sla_ms from targets g where g.id = tasks.target_id) * interval '1 millisecond'
             where tasks.state in ${OPEN_STATES_SQL}
               and tasks.operation_id in (select id from operations where ${HELD_MATCH})`,
      values: [...match, now],
    },
    {
      text: `update operations set status = 'released', decided_by = $3, decided_at = $4, decision_note = $5, reason = null where ${HELD_MATCH}`,
      values: [...match, actor.by, now, actor.note ?? null],
    },
  ]);
  return ops?.rowCount ?? 0;
}

/** Rejects held operations: nothing is done in any target; their tasks end `cancelled` with the reason. */
export async function rejectHeld(db: Db, clock: Clock, ref: { operationIds?: string[]; connectionId?: string }, actor: Actor): Promise<number> {
  const now = clock.now();
  const reason = `rejected by ${actor.by}${actor.note ? `: ${actor.note}` : ""}`;
  const match = [ref.operationIds ?? [], ref.connectionId ?? null];
  const [, ops] = await db.batch([
    {
      text: `update tasks set state = 'cancelled', held = false, reason = $3, updated_at = $4
             where tasks.state in ${OPEN_STATES_SQL}
               and tasks.operation_id in (select id from operations where ${HELD_MATCH})`,
      values: [...match, reason, now],
    },
    {
      text: `update operations set status = 'rejected', decided_by = $3, decided_at = $4, decision_note = $5, reason = $6 where ${HELD_MATCH}`,
      values: [...match, actor.by, now, actor.note ?? null, reason],
    },
  ]);
  return ops?.rowCount ?? 0;
}

/** Cancels an operation: its open tasks end `cancelled` with the reason; finished ones keep their state. */
export async function cancelOperation(db: Db, clock: Clock, operationId: string, actor: Actor): Promise<number> {
  const now = clock.now();
  const reason = `cancelled by ${actor.by}${actor.note ? `: ${actor.note}` : ""}`;
  const [, tasks] = await db.batch([
    { text: "update operations set status = 'cancelled', reason = $2 where id = $1 and status in ('held', 'released')", values: [operationId, reason] },
    {
      text: `update tasks set state = 'cancelled', held = false, reason = $2, updated_at = $3, locked_by = null, locked_until = null
             where operation_id = $1 and state in ${OPEN_STATES_SQL} and resolution is null`,
      values: [operationId, reason, now],
    },
  ]);
  return tasks?.rowCount ?? 0;
}
