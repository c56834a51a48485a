import SCIMMY from "scimmy";
import { listGroups } from "../storage/groups-repo.js";
import { listUsers } from "../storage/users-repo.js";
import type { ScimContext } from "./context.js";
import { groupFilterSql, groupOrderSql, SqlParams, userFilterSql, userOrderSql } from "./filter-sql.js";
import { groupResource } from "./group-handlers.js";
import { scimError } from "./scim-error.js";
import { withSchemas } from "./with-schemas.js";
import { groupJson, unnarrowed, userJson } from "./representation.js";
import { guarded } from "./storage-guard.js";
import { userResource } from "./user-handlers.js";

export const LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

export interface ListParams {
  filter?: unknown;
  startIndex?: unknown;
  count?: unknown;
  sortBy?: unknown;
  sortOrder?: unknown;
  attributes?: unknown;
  excludedAttributes?: unknown;
}

export interface ListLimits {
  maxResults: number;
}

/** RFC 7644 §3.4.2.4: startIndex < 1 means 1, count < 0 means 0; anything else non-numeric is a 400. */
function whole(name: string, raw: unknown, fallback: number): number {
  if (raw === undefined || raw === "") return fallback;
  const value = typeof raw === "number" ? raw : Number(String(raw));
  if (!Number.isInteger(value)) throw scimError(400, "invalidValue", `${name} must be an integer, got ${JSON.stringify(raw)}`);
  return value;
}

function asString(name: string, raw: unknown): string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== "string") throw scimError(400, "invalidValue", `${name} must be given once, as a string`);
  return raw;
}

const lists = (raw: string | undefined): string[] => (raw ?? "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);

/** Whether the answer will carry `name` (members, groups), so what it omits is never loaded. */
export function wanted(name: string, params: { attributes?: string | undefined; excludedAttributes?: string | undefined }): boolean {
  if (params.attributes !== undefined) return lists(params.attributes).some((a) => a === name || a.startsWith(name + "."));
  return !lists(params.excludedAttributes).includes(name);
}

/**
 * Lists with filtering, sorting and paging done in SQL, and the ListResponse assembled here: SCIMMY's
 * ListResponse would page and sort a database page a second time (scimmy-facts.md §3).
 */
export async function listResources(kind: "User" | "Group", raw: ListParams, ctx: ScimContext, limits: ListLimits): Promise<Record<string, unknown>> {
  const params = {
    filter: asString("filter", raw.filter),
    sortBy: asString("sortBy", raw.sortBy),
    sortOrder: asString("sortOrder", raw.sortOrder),
    attributes: asString("attributes", raw.attributes),
    excludedAttributes: asString("excludedAttributes", raw.excludedAttributes),
  };
  if (params.sortOrder !== undefined && !["ascending", "descending"].includes(params.sortOrder)) {
    throw scimError(400, "invalidValue", `sortOrder must be "ascending" or "descending", got ${JSON.stringify(params.sortOrder)}`);
  }
  const startIndex = Math.max(1, whole("startIndex", raw.startIndex, 1));
  const count = Math.min(Math.max(0, whole("count", raw.count, limits.maxResults)), limits.maxResults);
  // SCIMMY parses and validates attributes/excludedAttributes when the request narrows its answer
  // (the filter's syntax is checked by filter-sql.ts, which runs SCIMMY's parser as a gate).
  const Resource = kind === "User" ? SCIMMY.Resources.User : SCIMMY.Resources.Group;
  const resource = unnarrowed(params)
    ? { attributes: undefined }
    : new (Resource as unknown as new (query: Record<string, string>) => { attributes: unknown })(
        Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined)) as Record<string, string>,
      );
  const sql = new SqlParams([ctx.connectionId]);
  const where = params.filter === undefined ? "true" : kind === "User" ? userFilterSql(params.filter, sql) : groupFilterSql(params.filter, sql);
  const sortOrder = params.sortOrder as "ascending" | "descending" | undefined;
  const order = kind === "User" ? userOrderSql(params.sortBy, sortOrder) : groupOrderSql(params.sortBy, sortOrder);
  const query = { where, order, values: sql.values, offset: startIndex - 1, limit: count };

  return guarded(ctx, `list ${kind}s`, async () => {
    let resources: Record<string, unknown>[];
    let total: number;
    if (kind === "User") {
      const page = await listUsers(ctx.db, { ...query, withGroups: wanted("groups", params) });
      const basepath = SCIMMY.Resources.User.basepath() as string;
      resources = unnarrowed(params)
        ? page.rows.map((r) => userJson(r, basepath))
        : page.rows.map((r) => withSchemas(new SCIMMY.Schemas.User(userResource(r, r.groups), "out", basepath, resource.attributes as never), "User") as Record<string, unknown>);
      total = page.total;
    } else {
      const page = await listGroups(ctx.db, { ...query, withMembers: wanted("members", params) });
      const basepath = SCIMMY.Resources.Group.basepath() as string;
      resources = unnarrowed(params)
        ? page.rows.map((r) => groupJson(r, basepath))
        : page.rows.map((r) => withSchemas(new SCIMMY.Schemas.Group(groupResource(r), "out", basepath, resource.attributes as never), "Group") as Record<string, unknown>);
      total = page.total;
    }
    return { schemas: [LIST_RESPONSE], totalResults: total, startIndex, itemsPerPage: resources.length, Resources: resources };
  });
}

/**
 * POST /.search at the root (RFC 7644 §3.4.3): Users, then Groups, paged as one list. A filter that
 * names an attribute only one type has matches nothing in the other; unknown to both, it is a 400.
 */
export async function searchAll(raw: ListParams, ctx: ScimContext, limits: ListLimits): Promise<Record<string, unknown>> {
  const startIndex = Math.max(1, whole("startIndex", raw.startIndex, 1));
  const count = Math.min(Math.max(0, whole("count", raw.count, limits.maxResults)), limits.maxResults);
  const attempt = async (kind: "User" | "Group", params: ListParams) => {
    try {
      return await listResources(kind, params, ctx, limits);
    } catch (error) {
      if ((error as { scimType?: string }).scimType === "invalidFilter" && /attribute/i.test((error as Error).message)) return undefined;
      throw error;
    }
  };
  const users = await attempt("User", { ...raw, startIndex, count });
  const userTotal = (users?.totalResults as number | undefined) ?? 0;
  const userPage = (users?.Resources as unknown[] | undefined) ?? [];
  const groupStart = Math.max(1, startIndex - userTotal);
  const groups = await attempt("Group", { ...raw, startIndex: groupStart, count: Math.max(0, count - userPage.length) });
  if (!users && !groups) throw scimError(400, "invalidFilter", "The filter names attributes that neither Users nor Groups have");
  const Resources = [...userPage, ...((groups?.Resources as unknown[] | undefined) ?? [])];
  const totalResults = userTotal + ((groups?.totalResults as number | undefined) ?? 0);
  return { schemas: [LIST_RESPONSE], totalResults, startIndex, itemsPerPage: Resources.length, Resources };
}
