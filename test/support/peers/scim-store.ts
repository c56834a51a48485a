/**
 * The independent SCIM peer's resources: Users and Groups in memory, rendered per RFC 7643 (`id`,
 * `meta` with a version, the User's read-only `groups`), listed per RFC 7644 §3.4.2, and the
 * switchable behaviours of real service providers (`ScimBehaviour`).
 */
import { randomUUID } from "node:crypto";
import { ScimProblem } from "./scim-errors.js";
import { matches, parseFilter, type Filterable } from "./scim-filter.js";
import { applyPatch, type PatchSchema } from "./scim-patch.js";

export const USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User";
export const GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group";
export const LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

export type Json = Record<string, unknown>;
export type ResourceType = "Users" | "Groups";

/** Switchable behaviours, each modelled on service providers met in the field (Default: an RFC-faithful provider). */
export interface ScimBehaviour {
  /** full: RFC PATCH; no-path-only: 400 invalidPath for any operation with a path; path-only: 500 "Unsupported attribute: null" for one without (Keycloak); none: 501 (Default: full). */
  patchSupport: "full" | "no-path-only" | "path-only" | "none";
  /** DELETE /Users/:id only sets active=false and keeps the user (Slack) (Default: false). */
  deleteIsSoft: boolean;
  /** After a write to a user, GET /Users/:id shows the state before it for this many reads (Default: 0). */
  lagReads: number;
  /** Users show `active` as "True"/"False" strings (Default: false, JSON booleans). */
  activeAsString: boolean;
  /** Users carry the read-only `groups` attribute (Default: true). */
  userGroupsAttribute: boolean;
  /** GET /Groups shows `members` (Default: true; some providers never do). */
  groupMembersShown: boolean;
  /** Searches ignore `filter` and list everything (Snowflake before its 2026_03 change) (Default: false). */
  ignoreFilters: boolean;
}

export const DEFAULT_BEHAVIOUR: ScimBehaviour = {
  patchSupport: "full",
  deleteIsSoft: false,
  lagReads: 0,
  activeAsString: false,
  userGroupsAttribute: true,
  groupMembersShown: true,
  ignoreFilters: false,
};

interface Stored {
  id: string;
  /** What clients wrote (schemas and attributes), without id, meta or groups. */
  data: Json;
  version: number;
  created: string;
  modified: string;
}

const set = (...names: string[]) => new Set(names.map((n) => n.toLowerCase()));
const MULTI_VALUED = set("emails", "phoneNumbers", "ims", "photos", "addresses", "entitlements", "roles", "x509Certificates", "members", "groups");
const VALUE_FILTERABLE: Filterable = { attributes: set("value", "type", "primary", "display"), caseExact: set("value") };
const SCHEMAS: Record<ResourceType, PatchSchema> = {
  Users: { multiValued: MULTI_VALUED, readOnly: set("id", "meta", "groups"), valueFilterable: VALUE_FILTERABLE },
  Groups: { multiValued: MULTI_VALUED, readOnly: set("id", "meta"), valueFilterable: VALUE_FILTERABLE },
};
const FILTERABLE: Record<ResourceType, Filterable> = {
  Users: { attributes: set("id", "userName", "externalId", "emails", "emails.value", "displayName", "active"), caseExact: set("id", "externalId") },
  Groups: { attributes: set("id", "displayName", "externalId", "members", "members.value"), caseExact: set("id", "externalId", "members", "members.value") },
};
const MAX_COUNT = 200;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const get = (o: Json, name: string) => o[Object.keys(o).find((k) => k.toLowerCase() === name.toLowerCase()) ?? name];

export class ScimStore {
  readonly users = new Map<string, Stored>();
  readonly groups = new Map<string, Stored>();
  /** Users' views frozen by a write while `lagReads` lasts. */
  private readonly stale = new Map<string, { view: Json; reads: number }>();

  constructor(private readonly location: (path: string) => string, readonly behaviour: ScimBehaviour) {}

  private table(type: ResourceType) {
    return type === "Users" ? this.users : this.groups;
  }

  get(type: ResourceType, id: string): Stored {
    const stored = this.table(type).get(id);
    if (!stored) throw new ScimProblem(404, `${type === "Users" ? "User" : "Group"} ${id} not found`);
    return stored;
  }

  /** The resource as clients see it; `full` keeps what the behaviours hide (for matching filters). */
  render(type: ResourceType, s: Stored, full = false): Json {
    const meta = { resourceType: type === "Users" ? "User" : "Group", created: s.created, lastModified: s.modified, location: this.location(`/${type}/${s.id}`), version: `W/"${s.version}"` };
    const view: Json = { ...structuredClone(s.data), id: s.id, meta };
    if (type === "Users") {
      const active = get(view, "active");
      if (this.behaviour.activeAsString && typeof active === "boolean") view.active = active ? "True" : "False";
      if (this.behaviour.userGroupsAttribute) {
        view.groups = [...this.groups.values()].filter((g) => membersOf(g).some((m) => m.value === s.id))
          .map((g) => ({ value: g.id, display: g.data.displayName, $ref: this.location(`/Groups/${g.id}`), type: "direct" }));
      }
    } else if (!this.behaviour.groupMembersShown && !full) {
      delete view.members;
    }
    return view;
  }

  /** GET /Users/:id or /Groups/:id; a user in its lag window shows its state before the last write. */
  read(type: ResourceType, id: string): Json {
    const stale = type === "Users" ? this.stale.get(id) : undefined;
    if (stale && stale.reads > 0) {
      stale.reads--;
      if (stale.reads === 0) this.stale.delete(id);
      return structuredClone(stale.view);
    }
    return this.render(type, this.get(type, id));
  }

  private beforeWrite(type: ResourceType, id: string): void {
    if (type !== "Users" || this.behaviour.lagReads <= 0 || this.stale.has(id)) return;
    const s = this.users.get(id);
    if (s) this.stale.set(id, { view: this.render("Users", s), reads: this.behaviour.lagReads });
  }

  private checked(type: ResourceType, data: Json, id?: string): Json {
    const clean: Json = {};
    for (const [k, v] of Object.entries(data)) if (!SCHEMAS[type].readOnly.has(k.toLowerCase())) clean[k] = v;
    const schemas = get(clean, "schemas");
    const core = type === "Users" ? USER_SCHEMA : GROUP_SCHEMA;
    if (!Array.isArray(schemas) || !schemas.includes(core)) throw new ScimProblem(400, `schemas must include ${core}`, "invalidSyntax");
    if (type === "Users") {
      const userName = get(clean, "userName");
      if (typeof userName !== "string" || userName.trim() === "") throw new ScimProblem(400, "userName is required", "invalidValue");
      const taken = [...this.users.values()].find((u) => u.id !== id && String(u.data.userName).toLowerCase() === userName.toLowerCase());
      if (taken) throw new ScimProblem(409, "userName is already taken", "uniqueness");
      const active = get(clean, "active");
      if (active !== undefined && typeof active !== "boolean") throw new ScimProblem(400, "active must be a boolean", "invalidValue");
      const emails = get(clean, "emails");
      if (emails !== undefined && !(Array.isArray(emails) && emails.every((e) => isObject(e) && typeof e.value === "string"))) throw new ScimProblem(400, "emails must be a list of {value}", "invalidValue");
    } else {
      const displayName = get(clean, "displayName");
      if (typeof displayName !== "string" || displayName.trim() === "") throw new ScimProblem(400, "displayName is required", "invalidValue");
      const members = get(clean, "members");
      if (members !== undefined) {
        if (!Array.isArray(members) || !members.every((m) => isObject(m) && typeof m.value === "string")) throw new ScimProblem(400, "members must be a list of {value}", "invalidValue");
        for (const m of members as Json[]) if (!this.users.has(m.value as string) && !this.groups.has(m.value as string)) throw new ScimProblem(400, `member ${m.value as string} does not exist`, "invalidValue");
      }
    }
    return clean;
  }

  create(type: ResourceType, body: unknown): Json {
    if (!isObject(body)) throw new ScimProblem(400, "the body must be a JSON object", "invalidSyntax");
    const now = new Date().toISOString();
    const stored: Stored = { id: randomUUID(), data: this.checked(type, body), version: 1, created: now, modified: now };
    if (type === "Users" && get(stored.data, "active") === undefined) stored.data.active = true;
    this.table(type).set(stored.id, stored);
    return this.render(type, stored);
  }

  private save(type: ResourceType, stored: Stored, data: Json, ifMatch: string | undefined): Json {
    if (ifMatch !== undefined && ifMatch !== "*" && ifMatch !== `W/"${stored.version}"`) throw new ScimProblem(412, "the resource changed since that version");
    const checked = this.checked(type, data, stored.id);
    this.beforeWrite(type, stored.id);
    stored.data = checked;
    stored.version++;
    stored.modified = new Date().toISOString();
    return this.render(type, stored);
  }

  /** PUT (RFC 7644 §3.5.1): replaces every writable attribute; read-only ones in the body are ignored. */
  replace(type: ResourceType, id: string, body: unknown, ifMatch?: string): Json {
    const stored = this.get(type, id);
    if (!isObject(body)) throw new ScimProblem(400, "the body must be a JSON object", "invalidSyntax");
    const bodyId = get(body, "id");
    if (bodyId !== undefined && bodyId !== id) throw new ScimProblem(400, "id cannot change", "mutability");
    return this.save(type, stored, body, ifMatch);
  }

  patch(type: ResourceType, id: string, body: unknown, ifMatch?: string): Json {
    const stored = this.get(type, id);
    return this.save(type, stored, applyPatch(stored.data, body, SCHEMAS[type]), ifMatch);
  }

  /** DELETE (RFC 7644 §3.6): gone for every later request, and from every group; or, soft, only inactive. */
  remove(type: ResourceType, id: string, ifMatch?: string): void {
    const stored = this.get(type, id);
    if (ifMatch !== undefined && ifMatch !== "*" && ifMatch !== `W/"${stored.version}"`) throw new ScimProblem(412, "the resource changed since that version");
    this.beforeWrite(type, id);
    if (type === "Users" && this.behaviour.deleteIsSoft) {
      stored.data.active = false;
      stored.version++;
      return;
    }
    this.table(type).delete(id);
    for (const g of this.groups.values()) {
      const members = membersOf(g);
      if (members.some((m) => m.value === id)) {
        g.data.members = members.filter((m) => m.value !== id);
        g.version++;
      }
    }
  }

  /** GET /Users or /Groups with filter, startIndex (1-based) and count (RFC 7644 §3.4.2.4). */
  list(type: ResourceType, query: URLSearchParams): Json {
    const filterText = query.get("filter");
    const filter = filterText ? parseFilter(filterText) : undefined;
    const startIndex = Math.max(1, Number.parseInt(query.get("startIndex") ?? "1", 10) || 1);
    const countParam = query.get("count");
    const count = Math.min(MAX_COUNT, Math.max(0, countParam === null ? MAX_COUNT : Number.parseInt(countParam, 10) || 0));
    const all = [...this.table(type).values()];
    const matched = filter && !this.behaviour.ignoreFilters ? all.filter((s) => matches(this.render(type, s, true), filter, FILTERABLE[type])) : all;
    const page = matched.slice(startIndex - 1, startIndex - 1 + count).map((s) => project(this.render(type, s), query));
    return { schemas: [LIST_RESPONSE], totalResults: matched.length, startIndex, itemsPerPage: page.length, Resources: page };
  }
}

function membersOf(g: Stored): { value: string }[] {
  const members = g.data.members;
  return Array.isArray(members) ? (members as { value: string }[]) : [];
}

/** `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5), on top-level names; id and schemas are always returned. */
export function project(resource: Json, query: URLSearchParams): Json {
  const names = (p: string | null) => (p ? p.split(",").map((a) => a.trim().split(".")[0]!.toLowerCase()).filter(Boolean) : []);
  const only = names(query.get("attributes"));
  const excluded = names(query.get("excludedAttributes"));
  if (only.length === 0 && excluded.length === 0) return resource;
  const out: Json = {};
  for (const [k, v] of Object.entries(resource)) {
    const key = k.toLowerCase();
    if (key === "id" || key === "schemas" || (only.length > 0 ? only.includes(key) : !excluded.includes(key))) out[k] = v;
  }
  return out;
}
