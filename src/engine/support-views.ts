import type { Db } from "../storage/db.js";
import { taskFromRow, type Task, type TaskRow } from "../storage/tasks-repo.js";
import { worstState, type OperationView, type TaskView } from "./admin.js";

/**
 * What support staff look at besides one person's operations (DESIGN.md "Surfaces"): finding a
 * person, the escalations queue, each target's health, and what changed since
 * a moment (the console's live updates). Reads only.
 */

export interface PersonHit {
  connection: string;
  id: string;
  userName: string;
  externalId: string | null;
  emails: string[];
  active: boolean;
  /** The worst state of the person's latest operation; null when they have none. */
  state: OperationView["state"] | null;
  lastOperationAt: Date | null;
}

interface PersonRow {
  [key: string]: unknown;
  connection: string;
  connection_id: string;
  id: string;
  user_name: string;
  external_id: string | null;
  emails: string[];
  active: boolean;
}

/**
 * People whose userName starts with `q`, or whose email or externalId is exactly `q`, in every
 * connection (or one): each branch reads its own index (scim_users_user_name_prefix, _emails,
 * _external_id), so the answer costs the same on 100,000 people as on 100.
 */
export async function searchPeople(db: Db, q: string, options: { connectionId?: string; limit?: number } = {}): Promise<PersonHit[]> {
  const limit = Math.min(Math.max(options.limit ?? 20, 1), 100);
  const text = q.trim();
  if (text === "") return [];
  // the prefix as a range in the index's byte order (text_pattern_ops): unlike LIKE with a
  // parameter, a range keeps its index bounds in a prepared statement's generic plan
  const low = text.toLowerCase();
  const high = low.slice(0, -1) + String.fromCharCode(low.charCodeAt(low.length - 1) + 1);
  const rows = await db.query<PersonRow>(
    `with c as (select id, name from connections where $4::uuid is null or id = $4),
     hits as (
       -- in the prefix index's own order (text_pattern_ops sorts by ~<~), so a short prefix reads $3 entries, not all it matches
       (select u.connection_id, u.id from scim_users u join c on c.id = u.connection_id
        where lower(u.user_name) ~>=~ $1 and lower(u.user_name) ~<~ $5 order by u.connection_id, lower(u.user_name) using ~<~ limit $3)
       union
       -- exact matches: no LIMIT here, which would make the planner prefer a sequential scan to the GIN index
       (select u.connection_id, u.id from scim_users u join c on c.id = u.connection_id where u.emails @> array[lower($2)])
       union
       (select u.connection_id, u.id from scim_users u join c on c.id = u.connection_id where u.external_id = $2))
     select c.name as connection, u.connection_id, u.id, u.user_name, u.external_id, u.emails, u.active
     from hits h join scim_users u on u.connection_id = h.connection_id and u.id = h.id join c on c.id = u.connection_id
     order by lower(u.user_name), c.name limit $3`,
    [low, text, limit, options.connectionId ?? null, high],
  );
  if (rows.rows.length === 0) return [];
  const latest = await db.query<{ subject_id: string; connection_id: string; id: string; status: OperationView["status"]; created_at: Date }>(
    `select distinct on (connection_id, subject_id) connection_id, subject_id, id, status, created_at from operations
     where (connection_id, subject_id) in (select * from unnest($1::uuid[], $2::uuid[]))
     order by connection_id, subject_id, created_at desc`,
    [rows.rows.map((r) => r.connection_id), rows.rows.map((r) => r.id)],
  );
  const tasks = await db.query<{ operation_id: string; state: TaskView["state"]; resolution: Task["resolution"] }>(
    "select operation_id, state, resolution from tasks where operation_id = any($1::uuid[])",
    [latest.rows.map((o) => o.id)],
  );
  return rows.rows.map((r) => {
    const op = latest.rows.find((o) => o.connection_id === r.connection_id && o.subject_id === r.id);
    return {
      connection: r.connection,
      id: r.id,
      userName: r.user_name,
      externalId: r.external_id,
      emails: r.emails,
      active: r.active,
      state: op ? worstState(op, tasks.rows.filter((t) => t.operation_id === op.id)) : null,
      lastOperationAt: op?.created_at ?? null,
    };
  });
}

export interface EscalationItem {
  taskId: string;
  operation: { id: string; kind: string; createdAt: Date };
  connection: string;
  subject: { id: string; userName: string };
  target: { id: string; name: string; kind: string };
  lastError: { message: string; kind: string | null; at: Date | null } | null;
  reason: string | null;
  escalatedAt: Date | null;
}

/** Open escalations (not resolved), oldest first: the queue a person works through. */
export async function openEscalations(db: Db, options: { connectionId?: string; limit?: number } = {}): Promise<EscalationItem[]> {
  const rows = await db.query<TaskRow & { connection: string; op_kind: string; op_created_at: Date; subject_id: string; user_name: string; target_name: string; target_kind: string }>(
    `select t.*, c.name as connection, o.kind as op_kind, o.created_at as op_created_at, o.subject_id, o.user_name, g.name as target_name, g.kind as target_kind
     from tasks t join operations o on o.id = t.operation_id join connections c on c.id = o.connection_id join targets g on g.id = t.target_id
     where t.state = 'escalated' and t.resolution is null and ($1::uuid is null or o.connection_id = $1)
     order by t.escalated_at nulls last, t.id limit $2`,
    [options.connectionId ?? null, Math.min(options.limit ?? 200, 1000)],
  );
  return rows.rows.map((row) => {
    const t = taskFromRow(row);
    return {
      taskId: t.id,
      operation: { id: t.operationId, kind: row.op_kind, createdAt: row.op_created_at },
      connection: row.connection,
      subject: { id: row.subject_id, userName: row.user_name },
      target: { id: t.targetId, name: row.target_name, kind: row.target_kind },
      lastError: t.lastError ? { message: t.lastError, kind: t.lastErrorKind, at: t.lastErrorAt } : null,
      reason: t.reason,
      escalatedAt: t.escalatedAt,
    };
  });
}

export interface TargetHealth {
  lastSuccessAt: Date | null;
  /** Of the target's tasks touched in the last 24 h, the share that escalated or is failing (null: none touched). */
  errorRate24h: number | null;
  openTasks: number;
  openEscalations: number;
}

/** Health per target id, from its tasks. */
export async function targetHealth(db: Db, now: Date, targetIds: readonly string[]): Promise<Map<string, TargetHealth>> {
  const since = new Date(now.getTime() - 86_400_000);
  const rows = await db.query<{ target_id: string; last_success: Date | null; touched: number; failed: number; open: number; escalated: number }>(
    `select target_id, max(verified_at) as last_success,
            count(*) filter (where updated_at >= $2)::int as touched,
            -- a failure: escalated (resolved by a person or not: the target did not do it), or still open after an error
            count(*) filter (where updated_at >= $2 and (state = 'escalated' or (state in ('queued', 'revoking', 'verifying') and last_error_at is not null)))::int as failed,
            count(*) filter (where state in ('queued', 'revoking', 'verifying'))::int as open,
            count(*) filter (where state = 'escalated' and resolution is null)::int as escalated
     from tasks where target_id = any($1::uuid[]) group by target_id`,
    [targetIds, since],
  );
  const health = new Map<string, TargetHealth>();
  for (const id of targetIds) health.set(id, { lastSuccessAt: null, errorRate24h: null, openTasks: 0, openEscalations: 0 });
  for (const r of rows.rows) {
    health.set(r.target_id, { lastSuccessAt: r.last_success, errorRate24h: r.touched > 0 ? r.failed / r.touched : null, openTasks: r.open, openEscalations: r.escalated });
  }
  return health;
}

export interface ChangeEvent {
  kind: "task";
  operationId: string;
  taskId: string;
  connection: string;
  userName: string;
  state: TaskView["state"];
  held: boolean;
  updatedAt: Date;
}

/** Tasks changed after `since` (by their updated_at), oldest first, for live updates. */
export async function changesSince(db: Db, since: Date, limit = 500): Promise<ChangeEvent[]> {
  const rows = await db.query<{ id: string; operation_id: string; connection: string; user_name: string; state: TaskView["state"]; held: boolean; updated_at: Date }>(
    `select t.id, t.operation_id, c.name as connection, o.user_name, t.state, t.held, t.updated_at
     from tasks t join operations o on o.id = t.operation_id join connections c on c.id = o.connection_id
     where t.updated_at > $1 order by t.updated_at, t.id limit $2`,
    [since, limit],
  );
  return rows.rows.map((r) => ({ kind: "task", operationId: r.operation_id, taskId: r.id, connection: r.connection, userName: r.user_name, state: r.state, held: r.held, updatedAt: r.updated_at }));
}
