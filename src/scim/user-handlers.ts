import { randomUUID } from "node:crypto";
import SCIMMY from "scimmy";
import { scimError } from "./scim-error.js";
import { etagMatches, PreconditionFailedError, ConcurrentWriteError, weakEtag } from "../storage/resource-errors.js";
import { deleteUser, getUser, insertUser, updateUser, type UserRecord } from "../storage/users-repo.js";
import { removeMemberEverywhere } from "../storage/groups-repo.js";
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

/**
 * PUT locks the row and reads it in the transaction. PATCH already read it (its egress), so it
 * writes only if the version is still the one it read: one statement instead of two, and a
 * concurrent writer makes it re-apply rather than overwrite (patch-route.ts).
 */
async function replaceUser(ctx: ScimContext, id: string, attributes: Record<string, unknown>): Promise<UserRecord> {
  const read = ctx.patch?.before;
  if (read) {
    if (ctx.ifMatch !== undefined && !etagMatches(ctx.ifMatch, read.version)) throw new PreconditionFailedError(read.version);
    // A PATCH that changes nothing (an IdP re-sending it) writes nothing and announces nothing.
    if (canonicalJson(read.resource) === canonicalJson(attributes)) return read;
  }
  return ctx.db.transaction(async (tx) => {
    const before = read ?? (await getUser(tx, ctx.connectionId, id, { forUpdate: true }));
    if (!before) throw scimError(404, null, `Resource ${id} not found`);
    if (!read) {
      if (ctx.ifMatch !== undefined && !etagMatches(ctx.ifMatch, before.version)) throw new PreconditionFailedError(before.version);
      // A re-sent identical PUT writes nothing and announces nothing.
      if (canonicalJson(before.resource) === canonicalJson(attributes)) return before;
    }
    const after = await updateUser(tx, ctx.connectionId, id, attributes, read?.version);
    if (!after) throw new ConcurrentWriteError();
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

/** Stores a validated User instance (SCIMMY's "in" schema): create without id, replace with one. */
export async function writeUser(ctx: ScimContext, id: string | undefined, instance: unknown): Promise<Record<string, unknown>> {
  return guarded(ctx, "write user", async () => {
    const attributes = storable(instance, ["groups"]);
    const record = id ? await replaceUser(ctx, id, attributes) : await createUser(ctx, attributes);
    announce(ctx, record, !id);
    ctx.written = record;
    return userResource(record);
  });
}

/** Reads one user with its groups, or 404. */
export async function readUser(ctx: ScimContext, id: string): Promise<UserRecord> {
  return guarded(ctx, "read user", async () => {
    const record = await getUser(ctx.db, ctx.connectionId, id, { withGroups: true });
    if (!record) throw scimError(404, null, `Resource ${id} not found`);
    announce(ctx, record, false);
    return record;
  });
}

/** Registers the User handlers once per process; all request state comes from the context. */
export function registerUserHandlers(): void {
  SCIMMY.Resources.User.ingress((async (resource: { id?: string }, instance: unknown, ctx: ScimContext) => writeUser(ctx, resource.id, instance)) as never)
    .egress((async (resource: { id?: string }, ctx: ScimContext) =>
      guarded(ctx, "read user", async () => {
        // Lists are served by lists.ts with paging in SQL (scimmy-facts.md §3); only reads by id come here.
        if (!resource.id) throw scimError(400, "invalidSyntax", "List this resource type at its own endpoint");
        const record = await getUser(ctx.db, ctx.connectionId, resource.id, { withGroups: !ctx.patch });
        if (!record) throw scimError(404, null, `Resource ${resource.id} not found`);
        if (ctx.patch) {
          ctx.patch.baseVersion = record.version;
          ctx.patch.before = record;
          return userResource(record);
        }
        announce(ctx, record, false);
        return userResource(record, record.groups);
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
