import { randomUUID } from "node:crypto";
import SCIMMY from "scimmy";
import { deleteGroup, getGroup, insertGroup, resolveMembers, updateGroup, type GroupMember, type GroupRecord } from "../storage/groups-repo.js";
import { ConcurrentWriteError, etagMatches, PreconditionFailedError, weakEtag } from "../storage/resource-errors.js";
import type { Db } from "../storage/db.js";
import { canonicalJson, storable } from "./canonical-json.js";
import type { MemberRef, ScimChange } from "./changes.js";
import type { QueryResult } from "../storage/db.js";
import type { ScimContext } from "./context.js";
import { scimError } from "./scim-error.js";
import { guarded } from "./storage-guard.js";

/** A stored group as SCIMMY's "out" schema expects it (RFC 7643 §4.2). */
export function groupResource(record: GroupRecord): Record<string, unknown> {
  return {
    ...record.resource,
    id: record.id,
    ...(record.members && record.members.length > 0
      ? { members: record.members.map((m) => ({ value: m.value, type: m.type, ...(m.display ? { display: m.display } : {}) })) }
      : {}),
    meta: { resourceType: "Group", created: record.createdAt, lastModified: record.updatedAt, version: weakEtag(record.version) },
  };
}

const refs = (members: GroupMember[]): MemberRef[] => members.map((m) => ({ value: m.value, type: m.type }));

/** Members named by the request, checked against this connection: an unknown id is a 400, not a dangling row. */
async function requestedMembers(db: Db, connectionId: string, instance: Record<string, unknown>): Promise<GroupMember[]> {
  const raw = Array.isArray(instance.members) ? (instance.members as { value?: unknown; display?: unknown; type?: unknown }[]) : [];
  const requested = raw
    .filter((m) => typeof m?.value === "string")
    .map((m) => ({ value: String(m.value), type: (m.type === "Group" ? "Group" : "User") as GroupMember["type"], display: typeof m.display === "string" ? m.display : undefined }));
  const { members, unknown } = await resolveMembers(db, connectionId, requested);
  if (unknown.length > 0) {
    throw scimError(400, "invalidValue", `members.value ${unknown.slice(0, 5).map((v) => JSON.stringify(v)).join(", ")}${unknown.length > 5 ? ` and ${unknown.length - 5} more` : ""} name no User or Group of this connection`);
  }
  return members;
}

function announce(ctx: ScimContext, record: GroupRecord, created: boolean): void {
  if (ctx.bulk) return;
  ctx.res.setHeader("ETag", weakEtag(record.version));
  if (created) ctx.res.setHeader("Location", `${SCIMMY.Resources.Group.basepath()}/${record.id}`);
  ctx.res.locals.scimId = record.id;
}

async function createGroup(ctx: ScimContext, attributes: Record<string, unknown>, instance: Record<string, unknown>): Promise<GroupRecord> {
  const { record, change, recorded } = await ctx.db.transaction(async (tx) => {
    const members = await requestedMembers(tx, ctx.connectionId, instance);
    const record = await insertGroup(tx, ctx.connectionId, randomUUID(), attributes, members);
    const change: ScimChange = { type: "group.created", connectionId: ctx.connectionId, groupId: record.id, displayName: record.displayName, membersAdded: refs(members) };
    const recorded = await tx.batch(ctx.recorder.statements(change));
    return { record, change, recorded };
  });
  ctx.recorder.committed?.(change, recorded);
  return record;
}

async function replaceGroup(ctx: ScimContext, id: string, attributes: Record<string, unknown>, instance: Record<string, unknown>): Promise<GroupRecord> {
  let change: ScimChange | undefined;
  let recorded: QueryResult[] = [];
  const result = await ctx.db.transaction(async (tx) => {
    const before = await getGroup(tx, ctx.connectionId, id, { forUpdate: true });
    if (!before) throw scimError(404, null, `Resource ${id} not found`);
    if (ctx.ifMatch !== undefined && !etagMatches(ctx.ifMatch, before.version)) throw new PreconditionFailedError(before.version);
    if (ctx.patch?.baseVersion !== undefined && ctx.patch.baseVersion !== before.version) throw new ConcurrentWriteError();
    const members = await requestedMembers(tx, ctx.connectionId, instance);
    const { record, added, removed } = await updateGroup(tx, ctx.connectionId, id, attributes, members);
    if (added.length > 0 || removed.length > 0 || canonicalJson(before.resource) !== canonicalJson(attributes)) {
      change = { type: "group.updated", connectionId: ctx.connectionId, groupId: id, displayName: record.displayName, membersAdded: refs(added), membersRemoved: refs(removed) };
      recorded = await tx.batch(ctx.recorder.statements(change));
    }
    return record;
  });
  if (change) ctx.recorder.committed?.(change, recorded);
  return result;
}

/** Stores a validated Group instance (SCIMMY's "in" schema): create without id, replace with one. */
export async function writeGroup(ctx: ScimContext, id: string | undefined, instance: unknown): Promise<Record<string, unknown>> {
  return guarded(ctx, "write group", async () => {
    const plain = JSON.parse(JSON.stringify(instance)) as Record<string, unknown>;
    const attributes = storable(instance, ["members"]);
    const record = id ? await replaceGroup(ctx, id, attributes, plain) : await createGroup(ctx, attributes, plain);
    announce(ctx, record, !id);
    if (!ctx.withMembers) delete record.members;
    ctx.written = record;
    return groupResource(record);
  });
}

/** Reads one group (with members unless the request excluded them), or 404. */
export async function readGroup(ctx: ScimContext, id: string): Promise<GroupRecord> {
  return guarded(ctx, "read group", async () => {
    const record = await getGroup(ctx.db, ctx.connectionId, id, { withMembers: ctx.withMembers });
    if (!record) throw scimError(404, null, `Resource ${id} not found`);
    announce(ctx, record, false);
    return record;
  });
}

export function registerGroupHandlers(): void {
  SCIMMY.Resources.Group.ingress((async (resource: { id?: string }, instance: unknown, ctx: ScimContext) => writeGroup(ctx, resource.id, instance)) as never)
    .egress((async (resource: { id?: string }, ctx: ScimContext) =>
      guarded(ctx, "read group", async () => {
        if (!resource.id) throw scimError(400, "invalidSyntax", "List this resource type at its own endpoint");
        // A PATCH needs the members it edits, whatever the request excluded from its answer.
        const record = await getGroup(ctx.db, ctx.connectionId, resource.id, { withMembers: ctx.withMembers || !!ctx.patch });
        if (!record) throw scimError(404, null, `Resource ${resource.id} not found`);
        if (ctx.patch) ctx.patch.baseVersion = record.version;
        else announce(ctx, record, false);
        return groupResource(record);
      })) as never,
    )
    .degress((async (resource: { id?: string }, ctx: ScimContext) =>
      guarded(ctx, "delete group", async () => {
        const id = resource.id ?? "";
        const change = await ctx.db.transaction(async (tx) => {
          const current = await getGroup(tx, ctx.connectionId, id, { forUpdate: true });
          if (!current) throw scimError(404, null, `Resource ${id} not found`);
          if (ctx.ifMatch !== undefined && !etagMatches(ctx.ifMatch, current.version)) throw new PreconditionFailedError(current.version);
          const deleted = await deleteGroup(tx, ctx.connectionId, id);
          const gone: ScimChange = { type: "group.deleted", connectionId: ctx.connectionId, groupId: id, displayName: current.displayName, membersRemoved: refs(deleted?.members ?? []) };
          const results = await tx.batch(ctx.recorder.statements(gone));
          return { change: gone, recorded: results };
        });
        ctx.recorder.committed?.(change.change, change.recorded);
        ctx.res.locals.scimId = id;
      })) as never,
    );
}
