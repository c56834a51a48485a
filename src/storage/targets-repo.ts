import { randomUUID } from "node:crypto";
import type { Db } from "./db.js";

/** What a target does when its subject is deactivated, and how hard the engine may push it. */
export interface TargetPolicy {
  /** `disable` runs the connector's deactivate plan; `delete` its delete plan (Default: disable). */
  deactivate: "disable" | "delete";
  /** Deadline from the event to an observed revocation; past it the task is escalated (Default: 15 min). */
  slaMs: number;
  /** IdP group ids whose members are in scope; null: every user of the connection (Default: null). */
  scopeGroups: string[] | null;
  /** IdP group id → the target-side entitlement a removal from that group revokes (Default: none). */
  entitlements: Record<string, string>;
  /** `dry-run`: find, plan and probe, never write (Default: live). */
  mode: "live" | "dry-run";
  /** Tasks of this target running at once in one process (Default: 4). */
  maxConcurrency: number;
  /** Requests per second to this target's API from one process; null: unlimited (Default: null). */
  maxRequestsPerSec: number | null;
}

export interface Target {
  id: string;
  connectionId: string;
  name: string;
  kind: string;
  config: Record<string, unknown>;
  policy: TargetPolicy;
  enabled: boolean;
  pausedUntil: Date | null;
  pauseReason: string | null;
  consecutiveFailures: number;
  /** The admin token that registered it; an app-owner token manages only its own (null: admins only). */
  ownerTokenId: string | null;
  createdAt: Date;
  updatedAt: Date | null;
}

export const DEFAULT_POLICY: TargetPolicy = Object.freeze({
  deactivate: "disable",
  slaMs: 15 * 60_000,
  scopeGroups: null,
  entitlements: {},
  mode: "live",
  maxConcurrency: 4,
  maxRequestsPerSec: null,
}) as TargetPolicy;

export interface TargetRow {
  [key: string]: unknown;
  id: string;
  connection_id: string;
  name: string;
  kind: string;
  config: Record<string, unknown>;
  deactivate_action: "disable" | "delete";
  sla_ms: number;
  scope_groups: string[] | null;
  entitlements: Record<string, string>;
  mode: "live" | "dry-run";
  max_concurrency: number;
  max_requests_per_sec: number | null;
  enabled: boolean;
  paused_until: Date | null;
  pause_reason: string | null;
  consecutive_failures: number;
  owner_token_id: string | null;
  created_at: Date;
  updated_at: Date | null;
}

export const TARGET_COLUMNS =
  "id, connection_id, name, kind, config, deactivate_action, sla_ms, scope_groups, entitlements, mode, max_concurrency, max_requests_per_sec, enabled, paused_until, pause_reason, consecutive_failures, owner_token_id, created_at, updated_at";

export const targetFromRow = (row: TargetRow): Target => ({
  id: row.id,
  connectionId: row.connection_id,
  name: row.name,
  kind: row.kind,
  config: row.config,
  policy: {
    deactivate: row.deactivate_action,
    slaMs: row.sla_ms,
    scopeGroups: row.scope_groups,
    entitlements: row.entitlements,
    mode: row.mode,
    maxConcurrency: row.max_concurrency,
    maxRequestsPerSec: row.max_requests_per_sec === null ? null : Number(row.max_requests_per_sec),
  },
  enabled: row.enabled,
  pausedUntil: row.paused_until,
  pauseReason: row.pause_reason,
  consecutiveFailures: row.consecutive_failures,
  ownerTokenId: row.owner_token_id,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export interface NewTarget {
  connectionId: string;
  name: string;
  kind: string;
  config?: Record<string, unknown>;
  policy?: Partial<TargetPolicy>;
  ownerTokenId?: string | null;
}

export async function createTarget(db: Db, target: NewTarget): Promise<Target> {
  const p = { ...DEFAULT_POLICY, ...target.policy };
  const result = await db.query<TargetRow>(
    `insert into targets (id, connection_id, name, kind, config, deactivate_action, sla_ms, scope_groups, entitlements, mode, max_concurrency, max_requests_per_sec, owner_token_id)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) returning ${TARGET_COLUMNS}`,
    [
      randomUUID(), target.connectionId, target.name, target.kind, JSON.stringify(target.config ?? {}),
      p.deactivate, p.slaMs, p.scopeGroups, JSON.stringify(p.entitlements), p.mode, p.maxConcurrency, p.maxRequestsPerSec, target.ownerTokenId ?? null,
    ],
  );
  return targetFromRow(result.rows[0]!);
}

/** Changes a target's policy, enabled flag and (whole) config; only what is given. */
export async function updateTargetPolicy(
  db: Db, id: string, policy: Partial<TargetPolicy>, enabled?: boolean, config?: Record<string, unknown>, at: Date = new Date(),
): Promise<Target | null> {
  const current = await getTarget(db, id);
  if (!current) return null;
  const p = { ...current.policy, ...policy };
  const result = await db.query<TargetRow>(
    `update targets set deactivate_action = $2, sla_ms = $3, scope_groups = $4, entitlements = $5, mode = $6,
            max_concurrency = $7, max_requests_per_sec = $8, enabled = $9, config = $10, updated_at = $11
     where id = $1 returning ${TARGET_COLUMNS}`,
    [id, p.deactivate, p.slaMs, p.scopeGroups, JSON.stringify(p.entitlements), p.mode, p.maxConcurrency, p.maxRequestsPerSec, enabled ?? current.enabled,
      JSON.stringify(config ?? current.config), at],
  );
  return result.rows[0] ? targetFromRow(result.rows[0]) : null;
}

/** Replaces a target's connector config, only if it is still `expected` (another replica may have rotated it first). */
export async function setTargetConfig(db: Db, id: string, config: Record<string, unknown>, expected?: Record<string, unknown>): Promise<boolean> {
  const result = expected === undefined
    ? await db.query("update targets set config = $2 where id = $1", [id, JSON.stringify(config)])
    : await db.query("update targets set config = $2 where id = $1 and config = $3::jsonb", [id, JSON.stringify(config), JSON.stringify(expected)]);
  return result.rowCount > 0;
}

export async function getTarget(db: Db, id: string): Promise<Target | null> {
  const result = await db.query<TargetRow>(`select ${TARGET_COLUMNS} from targets where id = $1`, [id]);
  return result.rows[0] ? targetFromRow(result.rows[0]) : null;
}

export async function listTargets(db: Db, connectionId?: string): Promise<Target[]> {
  const result = connectionId
    ? await db.query<TargetRow>(`select ${TARGET_COLUMNS} from targets where connection_id = $1 order by name`, [connectionId])
    : await db.query<TargetRow>(`select ${TARGET_COLUMNS} from targets order by connection_id, name`);
  return result.rows.map(targetFromRow);
}

/** No call to the target before `until`, from any worker or replica; keeps the later of two pauses. */
export async function pauseTarget(db: Db, id: string, until: Date, reason: string): Promise<void> {
  await db.query(
    `update targets set paused_until = $2, pause_reason = $3
     where id = $1 and (paused_until is null or paused_until < $2)`,
    [id, until, reason],
  );
}
