import type { GroupRecord } from "../storage/groups-repo.js";
import { weakEtag } from "../storage/resource-errors.js";
import type { UserRecord } from "../storage/users-repo.js";
import { ENTERPRISE_USER } from "./declare.js";

export const CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User";
export const CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group";

/**
 * The JSON of a stored resource when the request did not narrow it (no `attributes` or
 * `excludedAttributes`, which is what IdPs send). What is stored was validated by SCIMMY on the
 * way in, so the answer is assembled directly instead of being coerced by SCIMMY's "out" schema a
 * second time: on the hot paths that coercion was most of the main thread's work. Narrowed
 * requests still go through SCIMMY.
 */
export function userJson(record: UserRecord, basepath: string): Record<string, unknown> {
  const { password: _never, ...attributes } = record.resource;
  return {
    schemas: ENTERPRISE_USER in attributes ? [CORE_USER, ENTERPRISE_USER] : [CORE_USER],
    id: record.id,
    ...attributes,
    ...(record.groups && record.groups.length > 0 ? { groups: record.groups.map((g) => ({ ...g, type: "direct" })) } : {}),
    meta: meta("User", record, basepath),
  };
}

export function groupJson(record: GroupRecord, basepath: string): Record<string, unknown> {
  return {
    schemas: [CORE_GROUP],
    id: record.id,
    ...record.resource,
    ...(record.members && record.members.length > 0
      ? { members: record.members.map((m) => ({ value: m.value, type: m.type, ...(m.display ? { display: m.display } : {}) })) }
      : {}),
    meta: meta("Group", record, basepath),
  };
}

function meta(resourceType: "User" | "Group", record: { id: string; createdAt: Date; updatedAt: Date; version: number }, basepath: string) {
  return {
    resourceType,
    created: record.createdAt.toISOString(),
    lastModified: record.updatedAt.toISOString(),
    location: `${basepath}/${record.id}`,
    version: weakEtag(record.version),
  };
}

/** True when the request leaves the representation whole, so the direct JSON applies. */
export const unnarrowed = (query: Record<string, unknown>): boolean => query.attributes === undefined && query.excludedAttributes === undefined;
