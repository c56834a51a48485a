import type { Subject } from "../connector-kit.js";
import type { Db, Row, Statement } from "./db.js";
import { sqlState, UNIQUE_VIOLATION } from "./db.js";
import { UniquenessError } from "./resource-errors.js";
import { pageWithTotal, type PageQuery } from "./page.js";
import { isUuid } from "./uuid.js";

/** A stored SCIM User: `resource` holds its attributes (no id, meta or schemas). */
export interface UserRecord {
  connectionId: string;
  id: string;
  userName: string;
  externalId: string | null;
  active: boolean;
  resource: Record<string, unknown>;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  /** The groups the user is a member of (SCIM's read-only `groups`), when asked for. */
  groups?: { value: string; display: string }[];
}

interface UserRow {
  [key: string]: unknown;
  connection_id: string;
  id: string;
  user_name: string;
  external_id: string | null;
  active: boolean;
  resource: Record<string, unknown>;
  version: number;
  created_at: Date;
  updated_at: Date;
  groups?: { value: string; display: string }[] | string | null;
}

const COLUMNS = "connection_id, id, user_name, external_id, active, resource, version, created_at, updated_at";

/** The user's groups in the same statement as the user: one round trip, not two. */
const GROUPS_COLUMN = `(select json_agg(json_build_object('value', g.id, 'display', g.display_name) order by g.display_name)
   from scim_group_members m join scim_groups g on g.connection_id = m.connection_id and g.id = m.group_id
   where m.connection_id = u.connection_id and m.member_id = u.id) as groups`;
const SELECT = COLUMNS.split(", ").map((c) => "u." + c).join(", ");

/** Maps a row of any statement below (insert/update/select … returning COLUMNS) to a record. */
export const userFromRow = (row: Row): UserRecord => toRecord(row as UserRow);

function toRecord(row: UserRow): UserRecord {
  const groups = typeof row.groups === "string" ? (JSON.parse(row.groups) as UserRecord["groups"]) : row.groups;
  return {
    ...(groups ? { groups } : {}),
    connectionId: row.connection_id,
    id: row.id,
    userName: row.user_name,
    externalId: row.external_id,
    active: row.active,
    resource: typeof row.resource === "string" ? (JSON.parse(row.resource) as Record<string, unknown>) : row.resource,
    version: row.version,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

/** The user of a connection with this userName (compared case-insensitively, RFC 7643 §4.1), or null. */
export async function findUserByUserName(db: Db, connectionId: string, userName: string): Promise<UserRecord | null> {
  const result = await db.query<UserRow>("select * from scim_users where connection_id = $1 and lower(user_name) = lower($2)", [connectionId, userName]);
  return result.rows[0] ? userFromRow(result.rows[0]) : null;
}

/** The subject connectors see (connector-kit `Subject`): emails lower-cased, the primary first. */
/** RFC 7643 §4.3: the enterprise extension's schema URN (the same as scim/declare.ts's, which storage does not import). */
const ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The extension attributes of a stored resource, split as `Subject` carries them. */
export function extensionsOf(resource: Record<string, unknown>): Pick<Subject, "enterprise" | "extensions"> {
  const out: Pick<Subject, "enterprise" | "extensions"> = {};
  for (const [key, value] of Object.entries(resource)) {
    if (!key.toLowerCase().startsWith("urn:") || !isObject(value)) continue;
    if (key === ENTERPRISE_URN) out.enterprise = value;
    else (out.extensions ??= {})[key] = value;
  }
  return out;
}

export function subjectOf(record: UserRecord): Subject {
  const emails = Array.isArray(record.resource.emails) ? (record.resource.emails as { value?: unknown; primary?: unknown }[]) : [];
  const ordered = [...emails.filter((e) => e?.primary === true), ...emails.filter((e) => e?.primary !== true)];
  return {
    connectionId: record.connectionId,
    id: record.id,
    userName: record.userName,
    externalId: record.externalId,
    displayName: typeof record.resource.displayName === "string" ? record.resource.displayName : null,
    emails: ordered.map((e) => e?.value).filter((v): v is string => typeof v === "string").map((v) => v.toLowerCase()),
    ...extensionsOf(record.resource),
  };
}

/** The indexed columns derived from a resource, so filters IdPs use never scan jsonb. */
function indexedColumns(resource: Record<string, unknown>): unknown[] {
  const emails = Array.isArray(resource.emails)
    ? (resource.emails as { value?: unknown }[]).map((e) => e?.value).filter((v): v is string => typeof v === "string").map((v) => v.toLowerCase())
    : [];
  return [
    String(resource.userName),
    typeof resource.externalId === "string" ? resource.externalId : null,
    resource.active !== false, // RFC 7643 §4.1.1: a user with no `active` is active
    typeof resource.displayName === "string" ? resource.displayName : null,
    emails,
  ];
}

/** A unique violation means the userName is taken in this connection (RFC 7643 §4.1). */
export function mapUniqueness(error: unknown): never {
  if (sqlState(error) === UNIQUE_VIOLATION) throw new UniquenessError("userName");
  throw error;
}

export function insertUserStatement(connectionId: string, id: string, resource: Record<string, unknown>): Statement {
  return {
    text: `insert into scim_users (connection_id, id, user_name, external_id, active, display_name, emails, resource)
       values ($1, $2, $3, $4, $5, $6, $7, $8) returning ${COLUMNS}`,
    values: [connectionId, id, ...indexedColumns(resource), JSON.stringify(resource)],
  };
}

export async function insertUser(tx: Db, connectionId: string, id: string, resource: Record<string, unknown>): Promise<UserRecord> {
  const statement = insertUserStatement(connectionId, id, resource);
  const result = await tx.query<UserRow>(statement.text, statement.values).catch(mapUniqueness);
  return toRecord(result.rows[0]!);
}

export async function getUser(
  db: Db,
  connectionId: string,
  id: string,
  options: { forUpdate?: boolean; withGroups?: boolean } = {},
): Promise<UserRecord | null> {
  if (!isUuid(id)) return null;
  const result = await db.query<UserRow>(
    `select ${SELECT}${options.withGroups ? ", " + GROUPS_COLUMN : ""} from scim_users u where u.connection_id = $1 and u.id = $2${options.forUpdate ? " for update" : ""}`,
    [connectionId, id],
  );
  return result.rows[0] ? toRecord(result.rows[0]) : null;
}

/**
 * Replaces the attributes and bumps the version. Either the caller holds the row
 * (`getUser … forUpdate`), or it passes the version it read: then the update happens only if
 * the row still has it, and null says someone else wrote in between (optimistic concurrency).
 */
export async function updateUser(
  tx: Db,
  connectionId: string,
  id: string,
  resource: Record<string, unknown>,
  expectedVersion?: number,
): Promise<UserRecord | null> {
  const statement = updateUserStatement(connectionId, id, resource, expectedVersion);
  const result = await tx.query<UserRow>(statement.text, statement.values).catch(mapUniqueness);
  return result.rows[0] ? toRecord(result.rows[0]) : null;
}

/** With `expectedVersion`, the statement is `expectOne`: a batch with it rolls back if the row moved on. */
export function updateUserStatement(connectionId: string, id: string, resource: Record<string, unknown>, expectedVersion?: number): Statement {
  return {
    text: `update scim_users set user_name = $3, external_id = $4, active = $5, display_name = $6, emails = $7,
         resource = $8, version = version + 1, updated_at = now()
       where connection_id = $1 and id = $2${expectedVersion === undefined ? "" : " and version = $9"} returning ${COLUMNS}`,
    values: [connectionId, id, ...indexedColumns(resource), JSON.stringify(resource), ...(expectedVersion === undefined ? [] : [expectedVersion])],
    ...(expectedVersion === undefined ? {} : { expectOne: true }),
  };
}

export async function deleteUser(tx: Db, connectionId: string, id: string): Promise<UserRecord | null> {
  if (!isUuid(id)) return null;
  const result = await tx.query<UserRow>(`delete from scim_users where connection_id = $1 and id = $2 returning ${COLUMNS}`, [connectionId, id]);
  return result.rows[0] ? toRecord(result.rows[0]) : null;
}

export interface ListQuery extends PageQuery {
  /** Also load each user's groups, in the same statement. */
  withGroups?: boolean;
}

/** One page and the total that matched (RFC 7644 §3.4.2.4), both from SQL. */
export async function listUsers(db: Db, query: ListQuery): Promise<{ rows: UserRecord[]; total: number }> {
  const page = await pageWithTotal<UserRow>(db, "scim_users u", `${SELECT}${query.withGroups ? ", " + GROUPS_COLUMN : ""}`, query);
  return { rows: page.rows.map(toRecord), total: page.total };
}
