import { randomUUID } from "node:crypto";
import SCIMMY from "scimmy";
import { scimError } from "./scim-error.js";
import { etagMatches, PreconditionFailedError, ConcurrentWriteError, weakEtag } from "../storage/resource-errors.js";
import { deleteUser, getUser, insertUser, updateUser, type UserRecord } from "../storage/users-repo.js";
import { removeMemberEverywhere } from "../storage/groups-repo.js";
import type { Db } from "../storage/db.js";
import { canonicalJson, storable } from "./canonical-json.js";
import type { ScimContext } from "./context.js";
import { guarded } from "./storage-guard.js";

/** A stored user as SCIMMY's "out" schema expects it: attributes plus id and meta (RFC 7643 §3.1). */
export function userResource(record: UserRecord, groups?: { value: string; display: string }[]): Record<string, unknown> {
  return {
    ...record.resource,
    id: record.id,
    ...(groups && groups.length > 0 ? { groups: groups.map((g) => ({ ...g, type: "direct" })) } : {}),
    meta: { resourceType: "User", created: record.createdAt, lastModified: record.updatedAt, version: weakEtag(record.version) },
  };
}

/** The groups a user belongs to (the read-only `groups` attribute, RFC 7643 §4.1.2), for a page of users. */
export async function groupsOf(db: Db, connectionId: string, userIds: string[]): Promise<Map<string, { value: string; display: string }[]>> {
  const byUser = new Map<string, { value: string; display: string }[]>();
  if (userIds.length === 0) return byUser;
  const result = await db.query<{ member_id: string; id: string; display_name: string }>(
    `select m.member_id, g.id, g.display_name from scim_group_members m
     join scim_groups g on g.connection_id = m.connection_id and g.id = m.group_id
     where m.connection_id = $1 and m.member_id = any($2::uuid[]) order by g.display_name`,
    [connectionId, userIds],
  );
  for (const row of result.rows) {
    const list = byUser.get(row.member_id) ?? [];
    list.push({ value: row.id, display: row.display_name });
    byUser.set(row.member_id, list);
  }
  return byUser;
}

function announce(ctx: ScimContext, record: UserRecord, created: boolean): void {
  if (ctx.bulk) return;
  ctx.res.setHeader("ETag", weakEtag(record.version));
  if (created) ctx.res.location(`${SCIMMY.Resources.User.basepath()}/${record.id}`);
  ctx.res.locals.scimId = record.id;
}

async function createUser(ctx: ScimContext, attributes: Record<string, unknown>): Promise<UserRecord> {
  return ctx.db.transaction(async (tx) => {
    const record = await insertUser(tx, ctx.connectionId, randomUUID(), attributes);
    await ctx.recorder.record(tx, { type: "user.created", connectionId: ctx.connectionId, userId: record.id, userName: record.userName, active: record.active });
    return record;
  });
}

async function replaceUser(ctx: ScimContext, id: string, attributes: Record<string, unknown>): Promise<UserRecord> {
  return ctx.db.transaction(async (tx) => {
    const before = await getUser(tx, ctx.connectionId, id, { forUpdate: true });
    if (!before) throw scimError(404, null, `Resource ${id} not found`);
    if (ctx.ifMatch !== undefined && !etagMatches(ctx.ifMatch, before.version)) throw new PreconditionFailedError(before.version);
    if (ctx.patch?.baseVersion !== undefined && ctx.patch.baseVersion !== before.version) throw new ConcurrentWriteError();
    // A re-sent identical PUT or a PATCH that changes nothing writes nothing and announces nothing.
    if (canonicalJson(before.resource) === canonicalJson(attributes)) return before;
    const after = await updateUser(tx, ctx.connectionId, id, attributes);
    await ctx.recorder.record(tx, {
      type: "user.updated",
      connectionId: ctx.connectionId,
      userId: id,
      userName: after.userName,
      before: { active: before.active, userName: before.userName },
      after: { active: after.active, userName: after.userName },
    });
    return after;
  });
}

/** Registers the User handlers once per process; all request state comes from the context. */
export function registerUserHandlers(): void {
  SCIMMY.Resources.User.ingress((async (resource: { id?: string }, instance: unknown, ctx: ScimContext) =>
    guarded(ctx, "write user", async () => {
      const attributes = storable(instance, ["groups"]);
      const record = resource.id ? await replaceUser(ctx, resource.id, attributes) : await createUser(ctx, attributes);
      announce(ctx, record, !resource.id);
      return userResource(record);
    })) as never,
  )
    .egress((async (resource: { id?: string }, ctx: ScimContext) =>
      guarded(ctx, "read user", async () => {
        // Lists are served by lists.ts with paging in SQL (scimmy-facts.md §3); only reads by id come here.
        if (!resource.id) throw scimError(400, "invalidSyntax", "List this resource type at its own endpoint");
        const record = await getUser(ctx.db, ctx.connectionId, resource.id);
        if (!record) throw scimError(404, null, `Resource ${resource.id} not found`);
        if (ctx.patch) {
          ctx.patch.baseVersion = record.version;
          return userResource(record);
        }
        announce(ctx, record, false);
        return userResource(record, (await groupsOf(ctx.db, ctx.connectionId, [record.id])).get(record.id));
      })) as never,
    )
    .degress((async (resource: { id?: string }, ctx: ScimContext) =>
      guarded(ctx, "delete user", async () => {
        const id = resource.id ?? "";
        await ctx.db.transaction(async (tx) => {
          const current = await getUser(tx, ctx.connectionId, id, { forUpdate: true });
          if (!current) throw scimError(404, null, `Resource ${id} not found`);
          if (ctx.ifMatch !== undefined && !etagMatches(ctx.ifMatch, current.version)) throw new PreconditionFailedError(current.version);
          const removedFromGroups = await removeMemberEverywhere(tx, ctx.connectionId, id);
          await deleteUser(tx, ctx.connectionId, id);
          await ctx.recorder.record(tx, {
            type: "user.deleted",
            connectionId: ctx.connectionId,
            userId: id,
            userName: current.userName,
            wasActive: current.active,
            removedFromGroups,
          });
        });
        ctx.res.locals.scimId = id;
      })) as never,
    );
}
