import type { Db } from "./db.js";
import { pageWithTotal, type PageQuery } from "./page.js";
import { isUuid } from "./uuid.js";

export interface GroupMember {
  value: string;
  type: "User" | "Group";
  display?: string | undefined;
}

/** A stored SCIM Group: `resource` holds its attributes except members, which have their own table. */
export interface GroupRecord {
  connectionId: string;
  id: string;
  displayName: string;
  externalId: string | null;
  resource: Record<string, unknown>;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  /** Loaded only when asked for: a group may have many thousands. */
  members?: GroupMember[];
}

interface GroupRow {
  [key: string]: unknown;
  connection_id: string;
  id: string;
  display_name: string;
  external_id: string | null;
  resource: Record<string, unknown>;
  version: number;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = ["connection_id", "id", "display_name", "external_id", "resource", "version", "created_at", "updated_at"];
const SELECT = COLUMNS.map((c) => "g." + c).join(", ");

const toRecord = (row: GroupRow): GroupRecord => ({
  connectionId: row.connection_id,
  id: row.id,
  displayName: row.display_name,
  externalId: row.external_id,
  resource: typeof row.resource === "string" ? (JSON.parse(row.resource) as Record<string, unknown>) : row.resource,
  version: row.version,
  createdAt: new Date(row.created_at),
  updatedAt: new Date(row.updated_at),
});

const indexed = (resource: Record<string, unknown>): unknown[] => [
  String(resource.displayName),
  typeof resource.externalId === "string" ? resource.externalId : null,
];

async function loadMembers(db: Db, connectionId: string, groupIds: string[]): Promise<Map<string, GroupMember[]>> {
  const byGroup = new Map<string, GroupMember[]>(groupIds.map((id) => [id, []]));
  if (groupIds.length === 0) return byGroup;
  const result = await db.query<{ group_id: string; member_id: string; member_type: "User" | "Group"; display: string | null }>(
    `select group_id, member_id, member_type, display from scim_group_members
     where connection_id = $1 and group_id = any($2::uuid[]) order by member_id`,
    [connectionId, groupIds],
  );
  for (const row of result.rows) {
    byGroup.get(row.group_id)?.push({ value: row.member_id, type: row.member_type, ...(row.display ? { display: row.display } : {}) });
  }
  return byGroup;
}

/**
 * Resolves requested member ids against this connection's Users and Groups. Returns the members
 * with their real type, and the values that name nothing (the caller answers 400 for those).
 */
export async function resolveMembers(db: Db, connectionId: string, requested: GroupMember[]): Promise<{ members: GroupMember[]; unknown: string[] }> {
  const ids = [...new Set(requested.map((m) => m.value))];
  const valid = ids.filter(isUuid);
  const found = new Map<string, "User" | "Group">();
  if (valid.length > 0) {
    const result = await db.query<{ id: string; type: "User" | "Group" }>(
      `select id, 'User' as type from scim_users where connection_id = $1 and id = any($2::uuid[])
       union all select id, 'Group' as type from scim_groups where connection_id = $1 and id = any($2::uuid[])`,
      [connectionId, valid],
    );
    for (const row of result.rows) found.set(row.id, row.type);
  }
  const members: GroupMember[] = [];
  const seen = new Set<string>();
  for (const m of requested) {
    const type = found.get(m.value.toLowerCase()) ?? found.get(m.value);
    if (!type || seen.has(m.value.toLowerCase())) continue;
    seen.add(m.value.toLowerCase());
    members.push({ value: m.value.toLowerCase(), type, display: m.display });
  }
  return { members, unknown: ids.filter((id) => !found.has(id.toLowerCase()) && !found.has(id)) };
}

async function addMembers(tx: Db, connectionId: string, groupId: string, members: GroupMember[]): Promise<void> {
  if (members.length === 0) return;
  await tx.query(
    `insert into scim_group_members (connection_id, group_id, member_id, member_type, display)
     select $1, $2, m.id, m.type, m.display from unnest($3::uuid[], $4::text[], $5::text[]) as m(id, type, display)
     on conflict do nothing`,
    [connectionId, groupId, members.map((m) => m.value), members.map((m) => m.type), members.map((m) => m.display ?? null)],
  );
}

export async function insertGroup(tx: Db, connectionId: string, id: string, resource: Record<string, unknown>, members: GroupMember[]): Promise<GroupRecord> {
  const result = await tx.query<GroupRow>(
    `insert into scim_groups (connection_id, id, display_name, external_id, resource) values ($1, $2, $3, $4, $5)
     returning ${COLUMNS.join(", ")}`,
    [connectionId, id, ...indexed(resource), JSON.stringify(resource)],
  );
  await addMembers(tx, connectionId, id, members);
  return { ...toRecord(result.rows[0]!), members };
}

export async function getGroup(
  db: Db,
  connectionId: string,
  id: string,
  options: { forUpdate?: boolean; withMembers?: boolean } = {},
): Promise<GroupRecord | null> {
  if (!isUuid(id)) return null;
  const result = await db.query<GroupRow>(
    `select ${SELECT} from scim_groups g where g.connection_id = $1 and g.id = $2${options.forUpdate ? " for update" : ""}`,
    [connectionId, id],
  );
  const row = result.rows[0];
  if (!row) return null;
  const record = toRecord(row);
  if (options.withMembers) record.members = (await loadMembers(db, connectionId, [record.id])).get(record.id) ?? [];
  return record;
}

/**
 * Replaces the group's attributes and member set; returns who joined and who left so the change
 * seam can see it. The caller holds the row lock (`getGroup … forUpdate`).
 */
export async function updateGroup(
  tx: Db,
  connectionId: string,
  id: string,
  resource: Record<string, unknown>,
  members: GroupMember[],
): Promise<{ record: GroupRecord; added: GroupMember[]; removed: GroupMember[] }> {
  const current = (await loadMembers(tx, connectionId, [id])).get(id) ?? [];
  const currentIds = new Set(current.map((m) => m.value));
  const nextIds = new Set(members.map((m) => m.value));
  const added = members.filter((m) => !currentIds.has(m.value));
  const removed = current.filter((m) => !nextIds.has(m.value));
  if (removed.length > 0) {
    await tx.query("delete from scim_group_members where connection_id = $1 and group_id = $2 and member_id = any($3::uuid[])", [
      connectionId,
      id,
      removed.map((m) => m.value),
    ]);
  }
  await addMembers(tx, connectionId, id, added);
  const result = await tx.query<GroupRow>(
    `update scim_groups set display_name = $3, external_id = $4, resource = $5, version = version + 1, updated_at = now()
     where connection_id = $1 and id = $2 returning ${COLUMNS.join(", ")}`,
    [connectionId, id, ...indexed(resource), JSON.stringify(resource)],
  );
  return { record: { ...toRecord(result.rows[0]!), members }, added, removed };
}

export async function deleteGroup(tx: Db, connectionId: string, id: string): Promise<GroupRecord | null> {
  if (!isUuid(id)) return null;
  const members = (await loadMembers(tx, connectionId, [id])).get(id) ?? [];
  const result = await tx.query<GroupRow>(`delete from scim_groups where connection_id = $1 and id = $2 returning ${COLUMNS.join(", ")}`, [connectionId, id]);
  // Members of a deleted group go with it (foreign key, on delete cascade); a group that was itself a member leaves its parents.
  await tx.query("delete from scim_group_members where connection_id = $1 and member_id = $2", [connectionId, id]);
  return result.rows[0] ? { ...toRecord(result.rows[0]), members } : null;
}

/** Removes one member from every group of the connection (a deleted user); returns those groups' ids. */
export async function removeMemberEverywhere(tx: Db, connectionId: string, memberId: string): Promise<string[]> {
  const result = await tx.query<{ group_id: string }>(
    "delete from scim_group_members where connection_id = $1 and member_id = $2 returning group_id",
    [connectionId, memberId],
  );
  const groupIds = result.rows.map((r) => r.group_id);
  if (groupIds.length > 0) {
    await tx.query("update scim_groups set version = version + 1, updated_at = now() where connection_id = $1 and id = any($2::uuid[])", [connectionId, groupIds]);
  }
  return groupIds;
}

export interface GroupListQuery extends PageQuery {
  withMembers: boolean;
}

export async function listGroups(db: Db, query: GroupListQuery): Promise<{ rows: GroupRecord[]; total: number }> {
  const { rows: page, total } = await pageWithTotal<GroupRow>(db, "scim_groups g", SELECT, query);
  const rows = page.map(toRecord);
  if (query.withMembers && rows.length > 0) {
    const members = await loadMembers(db, String(query.values[0]), rows.map((r) => r.id));
    for (const row of rows) row.members = members.get(row.id) ?? [];
  }
  return { rows, total };
}

/** The ids of this connection's groups with these displayNames (compared case-insensitively), keyed by lower-cased name. */
export async function groupIdsByDisplayName(db: Db, connectionId: string, names: readonly string[]): Promise<Map<string, string>> {
  const lower = [...new Set(names.map((n) => n.toLowerCase()))];
  const result = await db.query<{ id: string; name: string }>(
    "select id, lower(display_name) as name from scim_groups where connection_id = $1 and lower(display_name) = any($2::text[]) order by created_at",
    [connectionId, lower],
  );
  const ids = new Map<string, string>();
  for (const row of result.rows) if (!ids.has(row.name)) ids.set(row.name, row.id);
  return ids;
}
