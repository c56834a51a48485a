import { randomUUID } from "node:crypto";
import type { ChangeRecorder, MemberRef, ScimChange } from "../scim/changes.js";
import type { Statement } from "../storage/db.js";
import { OPEN_STATES_SQL } from "../storage/tasks-repo.js";
import type { Clock } from "./clock.js";
import type { GuardSettings } from "./settings.js";

/**
 * Intents from transitions (STYLE.md "Engine habits"): the change recorder that turns a SCIM write
 * into operations and tasks, as SQL run in the write's own transaction. Only state *transitions*
 * make intents — active true→false, a user deleted, a member leaving a mapped group — so an IdP
 * re-sending the same request adds nothing. Reactivation (false→true) cancels the subject's
 * in-flight deactivation. Every time is the engine clock's, passed as a parameter.
 */

/** Notified (PostgreSQL) after tasks are queued; the embedded store wakes workers in-process. */
export const TASKS_CHANNEL = "scim_bridge_tasks";

export interface IntentRecorderOptions {
  clock: Clock;
  guard: GuardSettings;
  /** Called after a commit that queued tasks (wakes the workers: here, and on PostgreSQL every replica's). */
  onQueued?: () => void;
  /**
   * A recent count of the connection's active users, for the guard's share rule (Default: counted
   * in the statement). A count a minute old is as good for a share and spares a scan per deactivation.
   */
  activeUsers?: (connectionId: string) => number | undefined;
}

/** `$n` placeholders for one statement's values. */
class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/**
 * The subject as the connector kit's `Subject` (users-repo `subjectOf` builds the same in
 * TypeScript): the enterprise extension, and any other `urn:` extension under `extensions`.
 */
const SUBJECT_JSON = `jsonb_strip_nulls(jsonb_build_object('connectionId', u.connection_id, 'id', u.id, 'userName', u.user_name,
  'externalId', u.external_id, 'displayName', u.display_name, 'emails', to_jsonb(u.emails),
  'enterprise', u.resource->'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
  'extensions', (select jsonb_object_agg(x.key, x.value) from jsonb_each(u.resource) x
                 where x.key ilike 'urn:%' and x.key <> 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
                   and jsonb_typeof(x.value) = 'object')))`;

/**
 * The mass-deprovisioning guard as a FROM item `h(status)`: 'held' when one more deactivate/delete
 * in this connection would exceed the count, or (from minCount on) the share of its active users,
 * within the window; else 'released'. Operations a person already decided don't count again. The
 * recent count reads at most maxCount + 1 index entries, and the active users are only counted
 * when the share rule can decide, so ordinary deactivations never scan the users table.
 */
function guardStatus(p: Params, guard: GuardSettings, connection: string, now: Date, activeUsers?: number): string {
  if (!guard.enabled) return "(select 'released'::text as status) h";
  const active = activeUsers === undefined ? `(select count(*) from scim_users a where a.connection_id = ${connection} and a.active)` : `${p.add(activeUsers)}::int`;
  const since = p.add(new Date(now.getTime() - guard.windowMs));
  const maxCount = `${p.add(guard.maxCount)}::int`;
  return `(select case
        when g.recent > ${maxCount} then 'held'
        when g.recent < ${p.add(guard.minCount)}::int then 'released'
        when g.recent > ${p.add(guard.maxShare)}::float8 * (${active} + g.recent) then 'held'
        else 'released' end as status
      from (select count(*) + 1 as recent from (select 1 from operations r where r.connection_id = ${connection}
        and r.kind in ('deactivate', 'delete') and r.created_at > ${since} and r.decided_at is null
        and r.status <> 'cancelled' limit ${maxCount} + 1) w) g) h`;
}

interface NewOperation {
  id: string;
  connectionId: string;
  kind: "deactivate" | "delete";
  now: Date;
  /** SQL (alias `t` for the target) that is true when the subject is a member of one of `t.scope_groups`. */
  inScope: (p: Params) => string;
  /** The subject's columns: `subject_id, user_name, subject` as SQL, with their FROM/WHERE. */
  subject: (p: Params) => { columns: string; from: string; where: string };
  /** The task intent as SQL (alias `t`). */
  intent: string;
}

/**
 * One statement: the operation (status from the guard) and one task per enabled target with the
 * subject in scope. No target in scope, no operation: an event no target is concerned with has
 * nothing to revoke and nothing to track (and costs the SCIM write one cheap lookup).
 */
function recordOperation(op: NewOperation, guard: GuardSettings, activeUsers: number | undefined): Statement {
  const p = new Params();
  const conn = p.add(op.connectionId);
  const now = p.add(op.now);
  const targets = `select t.id, t.mode, t.sla_ms, t.deactivate_action from targets t
      where t.connection_id = ${conn} and t.enabled and (t.scope_groups is null or ${op.inScope(p)})`;
  const subject = op.subject(p);
  const status = guardStatus(p, guard, conn, op.now, activeUsers);
  return {
    text: `with t as (${targets}),
      op as (
        insert into operations (id, connection_id, subject_id, user_name, subject, kind, status, reason, created_at)
        select ${p.add(op.id)}, ${conn}, ${subject.columns}, '${op.kind}', h.status,
               case when h.status = 'held' then 'mass-deprovisioning guard' end, ${now}
        from ${subject.from}, ${status}
        where exists (select 1 from t) and ${subject.where}
        returning id, status)
      insert into tasks (id, operation_id, target_id, intent, held, dry_run, run_at, deadline_at, created_at, updated_at)
      select gen_random_uuid(), op.id, t.id, ${op.intent}, op.status = 'held', t.mode = 'dry-run', ${now},
             ${now}::timestamptz + t.sla_ms * interval '1 millisecond', ${now}, ${now}
      from op cross join t`,
    values: p.values,
  };
}

const DEACTIVATE_INTENT = `case when t.deactivate_action = 'delete' then '{"kind":"delete"}' else '{"kind":"deactivate"}' end::jsonb`;

function deactivate(change: Extract<ScimChange, { type: "user.updated" }>, guard: GuardSettings, now: Date, activeUsers?: number): Statement[] {
  let user = "";
  return [
    recordOperation(
      {
        id: randomUUID(),
        connectionId: change.connectionId,
        kind: "deactivate",
        now,
        inScope: (p) => {
          user = p.add(change.userId);
          return `exists (select 1 from scim_group_members m where m.connection_id = t.connection_id and m.member_id = ${user} and m.group_id = any(t.scope_groups))`;
        },
        subject: () => ({ columns: `u.id, u.user_name, ${SUBJECT_JSON}`, from: "scim_users u", where: `u.connection_id = $1 and u.id = ${user}` }),
        intent: DEACTIVATE_INTENT,
      },
      guard,
      activeUsers,
    ),
  ];
}

/** Reactivation supersedes the subject's in-flight deactivation: its open tasks end `cancelled`. */
function reactivate(change: Extract<ScimChange, { type: "user.updated" }>, now: Date): Statement[] {
  const reason = `reactivated by the IdP at ${now.toISOString()}`;
  const inFlight = `o.connection_id = $1 and o.subject_id = $2 and o.kind = 'deactivate' and o.status in ('held', 'released')`;
  return [
    {
      text: `update tasks set state = 'cancelled', reason = $3, held = false, locked_by = null, locked_until = null, updated_at = $4
        from operations o where o.id = tasks.operation_id and ${inFlight} and tasks.state in ${OPEN_STATES_SQL}`,
      values: [change.connectionId, change.userId, reason, now],
    },
    {
      text: `update operations o set status = 'cancelled', reason = $3 where ${inFlight}
        and not exists (select 1 from tasks t where t.operation_id = o.id and t.state in ${OPEN_STATES_SQL})
        and not exists (select 1 from tasks t where t.operation_id = o.id and t.state = 'verified')`,
      values: [change.connectionId, change.userId, reason],
    },
  ];
}

/**
 * A delete. A deactivation still in flight is extended into the delete (its open and finished
 * tasks take the delete intent and run the delete plan), not raced by a second operation; steps
 * already done are not repeated. Otherwise a new delete operation. The user row is gone by now,
 * so the subject and its former groups come from the change.
 */
function remove(change: Extract<ScimChange, { type: "user.deleted" }>, guard: GuardSettings, now: Date, activeUsers?: number): Statement[] {
  const eventId = randomUUID();
  const extend: Statement = {
    text: `update operations o set kind = 'delete', extended_at = $3, extended_by = $4
      where o.connection_id = $1 and o.subject_id = $2 and o.kind = 'deactivate' and o.status in ('held', 'released')
        and exists (select 1 from tasks t where t.operation_id = o.id and t.state in ${OPEN_STATES_SQL})`,
    values: [change.connectionId, change.userId, now, eventId],
  };
  const retarget: Statement = {
    text: `update tasks set intent = '{"kind":"delete"}', state = case when state = 'queued' then 'queued' else 'revoking' end,
        run_at = $2, deadline_at = $2::timestamptz + (select g.sla_ms from targets g where g.id = tasks.target_id) * interval '1 millisecond',
        attempts = 0, probes = 0, reason = null, escalated_at = null, updated_at = $2
      from operations o where o.id = tasks.operation_id and o.extended_by = $1 and tasks.state <> 'cancelled'`,
    values: [eventId, now],
  };
  const insertOp = recordOperation(
    {
      id: eventId,
      connectionId: change.connectionId,
      kind: "delete",
      now,
      inScope: (p) => `t.scope_groups && ${p.add(change.removedFromGroups)}::uuid[]`,
      subject: (p) => ({
        columns: `${p.add(change.userId)}::uuid, ${p.add(change.userName)}, ${p.add(JSON.stringify(change.subject))}::jsonb`,
        from: "(select 1) s",
        where: `not exists (select 1 from operations x where x.extended_by = ${p.add(eventId)})`,
      }),
      intent: `'{"kind":"delete"}'::jsonb`,
    },
    guard,
    activeUsers,
  );
  return [extend, retarget, insertOp];
}

/** Members leaving a group: one revoke-entitlement operation each, with a task per target that maps the group. */
function leaveGroup(connectionId: string, groupId: string, removed: MemberRef[], now: Date): Statement[] {
  const users = removed.filter((m) => m.type === "User").map((m) => m.value);
  if (users.length === 0) return [];
  return [
    {
      text: `with mapped as (
          select t.id, t.entitlements ->> $2::text as entitlement, t.mode, t.sla_ms from targets t
          where t.connection_id = $1 and t.enabled and t.entitlements ? $2::text),
        ops as (
          insert into operations (id, connection_id, subject_id, user_name, kind, group_id, subject, created_at)
          select gen_random_uuid(), u.connection_id, u.id, u.user_name, 'revoke-entitlement', $2::text::uuid, ${SUBJECT_JSON}, $4
          from scim_users u where u.connection_id = $1 and u.id = any($3::uuid[]) and exists (select 1 from mapped)
          returning id)
        insert into tasks (id, operation_id, target_id, intent, dry_run, run_at, deadline_at, created_at, updated_at)
        select gen_random_uuid(), ops.id, m.id, jsonb_build_object('kind', 'revoke-entitlement', 'entitlement', m.entitlement),
               m.mode = 'dry-run', $4, $4::timestamptz + m.sla_ms * interval '1 millisecond', $4, $4
        from ops cross join mapped m`,
      values: [connectionId, groupId, users, now],
    },
  ];
}

/** Statements whose row count says tasks were queued (or re-queued): only then are workers woken. */
const QUEUES = new WeakMap<ScimChange, number[]>();

/** The statements that record `change`'s intents; none when the change is not a transition. */
export function intentStatements(change: ScimChange, guard: GuardSettings, now: Date, activeUsers?: number): Statement[] {
  switch (change.type) {
    case "user.updated":
      if (change.before.active && !change.after.active) {
        QUEUES.set(change, [0]);
        return deactivate(change, guard, now, activeUsers);
      }
      if (!change.before.active && change.after.active) return reactivate(change, now);
      return [];
    case "user.deleted":
      QUEUES.set(change, [1, 2]);
      return remove(change, guard, now, activeUsers);
    case "group.updated":
    case "group.deleted":
      QUEUES.set(change, [0]);
      return leaveGroup(change.connectionId, change.groupId, change.membersRemoved, now);
    default:
      return [];
  }
}

/** The engine's recorder on the SCIM change seam. */
export function intentRecorder(options: IntentRecorderOptions): ChangeRecorder {
  return {
    statements(change) {
      const counted = change.type === "user.updated" || change.type === "user.deleted" ? options.activeUsers?.(change.connectionId) : undefined;
      return intentStatements(change, options.guard, options.clock.now(), counted);
    },
    committed(change, results) {
      const queued = (QUEUES.get(change) ?? []).some((i) => (results[i]?.rowCount ?? 0) > 0);
      if (queued) options.onQueued?.();
    },
  };
}
