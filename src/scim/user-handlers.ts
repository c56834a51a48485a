import { randomUUID } from "node:crypto";
import SCIMMY from "scimmy";
import { scimError } from "./scim-error.js";
import { etagMatches, PreconditionFailedError, ConcurrentWriteError, weakEtag } from "../storage/resource-errors.js";
import { deleteUser, getUser, insertUserStatement, mapUniqueness, updateUser, updateUserStatement, userFromRow, subjectOf, type UserRecord } from "../storage/users-repo.js";
import { BatchConditionFailed, type QueryResult } from "../storage/db.js";
import type { ScimChange } from "./changes.js";
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
  if (created) ctx.res.setHeader("Location", `${SCIMMY.Resources.User.basepath()}/${record.id}`);
  ctx.res.locals.scimId = record.id;
}

/** Inserts the user and records the change in one batch: one round trip, one transaction. */
async function createUser(ctx: ScimContext, attributes: Record<string, unknown>): Promise<UserRecord> {
  const id = randomUUID();
  const change: ScimChange = { type: "user.created", connectionId: ctx.connectionId, userId: id, userName: String(attributes.userName), active: attributes.active !== false };
  const [inserted, ...recorded] = await ctx.db.batch([insertUserStatement(ctx.connectionId, id, attributes), ...ctx.recorder.statements(change)]).catch(mapUniqueness);
  ctx.recorder.committed?.(change, recorded);
  return userFromRow(inserted!.rows[0]!);
}

const updated = (connectionId: string, before: UserRecord, attributes: Record<string, unknown>): ScimChange => ({
  type: "user.updated",
  connectionId,
  userId: before.id,
  userName: String(attributes.userName),
  before: { active: before.active, userName: before.userName },
  after: { active: attributes.active !== false, userName: String(attributes.userName) },
});

/**
 * PATCH already read the row (its egress): it writes only if the version is still the one it read,
 * the update and the change's statements in one batch; a concurrent writer makes it re-apply
 * rather than overwrite (patch-route.ts). PUT reads and locks the row in its transaction.
 */
async function replaceUser(ctx: ScimContext, id: string, attributes: Record<string, unknown>): Promise<UserRecord> {
  const read = ctx.patch?.before;
  if (read) {
    if (ctx.ifMatch !== undefined && !etagMatches(ctx.ifMatch, read.version)) throw new PreconditionFailedError(read.version);
    // A PATCH that changes nothing (an IdP re-sending it) writes nothing and announces nothing.
    if (canonicalJson(read.resource) === canonicalJson(attributes)) return read;
    const change = updated(ctx.connectionId, read, attributes);
    const [row, ...recorded] = await ctx.db
      .batch([updateUserStatement(ctx.connectionId, id, attributes, read.version), ...ctx.recorder.statements(change)])
      .catch((error: unknown) => {
        if (error instanceof BatchConditionFailed && error.index === 0) throw new ConcurrentWriteError();
        return mapUniqueness(error);
      });
    ctx.recorder.committed?.(change, recorded);
    return userFromRow(row!.rows[0]!);
  }
  let change: ScimChange | undefined;
  let recorded: QueryResult[] = [];
  const record = await ctx.db.transaction(async (tx) => {
    const before = await getUser(tx, ctx.connectionId, id, { forUpdate: true });
    if (!before) throw scimError(404, null, `Resource ${id} not found`);
    if (ctx.ifMatch !== undefined && !etagMatches(ctx.ifMatch, before.version)) throw new PreconditionFailedError(before.version);
    // A re-sent identical PUT writes nothing and announces nothing.
    if (canonicalJson(before.resource) === canonicalJson(attributes)) return before;
    const after = (await updateUser(tx, ctx.connectionId, id, attributes))!;
    change = updated(ctx.connectionId, before, attributes);
    recorded = await tx.batch(ctx.recorder.statements(change));
    return after;
  });
  if (change) ctx.recorder.committed?.(change, recorded);
  return record;
}

/** Stores a validated User instance (SCIMMY's "in" schema): create without id, replace with one. */
export async function writeUser(ctx: ScimContext, id: string | undefined, instance: unknown): Promise<Record<string, unknown>> {
  return guarded(ctx, "write user", async () => {
    const attributes = storable(instance, ["groups"]);
    const record = id ? await replaceUser(ctx, id, attributes) : await createUser(ctx, attributes);
    announce(ctx, record, !id);
    ctx.written = record;
    // Inside a PATCH, SCIMMY only compares what comes back; the answer is built from `written`.
    return ctx.patch ? { ...record.resource, id: record.id } : userResource(record);
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

/**
 * The row a PATCH edits (without its groups, which PATCH never writes), or 404. It is remembered in
 * `ctx.patch`, so the write applies only if the row is still this version (replaceUser).
 */
export async function readUserForPatch(ctx: ScimContext, id: string): Promise<UserRecord> {
  return guarded(ctx, "read user", async () => {
    const record = await getUser(ctx.db, ctx.connectionId, id);
    if (!record) throw scimError(404, null, `Resource ${id} not found`);
    ctx.patch = { ...ctx.patch, baseVersion: record.version, before: record };
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
        if (ctx.patch) {
          const record = await readUserForPatch(ctx, resource.id);
          // What PATCH edits: the attributes. meta is the server's (RFC 7643 §3.1) and the answer is
          // built from the stored row, so SCIMMY is spared coercing its dates four times over.
          return { ...record.resource, id: record.id };
        }
        const record = await getUser(ctx.db, ctx.connectionId, resource.id, { withGroups: true });
        if (!record) throw scimError(404, null, `Resource ${resource.id} not found`);
        announce(ctx, record, false);
        return userResource(record, record.groups);
      })) as never,
    )
    .degress((async (resource: { id?: string }, ctx: ScimContext) =>
      guarded(ctx, "delete user", async () => {
        const id = resource.id ?? "";
        const { change, recorded } = await ctx.db.transaction(async (tx) => {
          const current = await getUser(tx, ctx.connectionId, id, { forUpdate: true });
          if (!current) throw scimError(404, null, `Resource ${id} not found`);
          if (ctx.ifMatch !== undefined && !etagMatches(ctx.ifMatch, current.version)) throw new PreconditionFailedError(current.version);
          const removedFromGroups = await removeMemberEverywhere(tx, ctx.connectionId, id);
          await deleteUser(tx, ctx.connectionId, id);
          const deleted: ScimChange = { type: "user.deleted", connectionId: ctx.connectionId, userId: id, userName: current.userName, wasActive: current.active, removedFromGroups, subject: subjectOf(current) };
          const results = await tx.batch(ctx.recorder.statements(deleted));
          return { change: deleted, recorded: results };
        });
        ctx.recorder.committed?.(change, recorded);
        ctx.res.locals.scimId = id;
      })) as never,
    );
}
