/**
 * Users: finding the subject's user, reading its `active`, and the two user steps. Each step
 * reads the user first (RFC 7644 §3.4.1) so that a second run, or a user someone else already
 * disabled, answers "already-done" without writing.
 */
import { TargetError, type Account, type RevokeStep, type Subject } from "../../src/connector-kit.js";
import { attr, eqFilter, isResource, listOf, PATCH_OP, resourceOf, scimRequest, USER_SCHEMA, userPath, type Ctx, type Resource } from "./client.js";
import { settingsOf, type MatchAttribute, type ScimConfig, type ScimSettings } from "./config.js";

export interface UserRead {
  resource: Resource;
  /** The ETag header or `meta.version`, sent back as If-Match on PUT (RFC 7644 §3.14). */
  etag?: string;
  what: string;
}

/** GET /Users/:id; `gone` when the service provider answers 404 (RFC 7644 §3.6: a deleted user is 404 for every operation). */
export async function readUser(ctx: Ctx, id: string): Promise<UserRead | { gone: string }> {
  const r = await scimRequest(ctx, { path: userPath(id), call: { kind: "read", resource: "Users" }, answers: [404] });
  if (r.status === 404) return { gone: r.what };
  const resource = resourceOf(r.body, id, r.what);
  const meta = attr(resource, "meta");
  const version = isResource(meta) ? attr(meta, "version") : undefined;
  const etag = r.headers.get("etag") ?? (typeof version === "string" ? version : undefined);
  return { resource, what: r.what, ...(etag ? { etag } : {}) };
}

export type Active = { value: boolean; shown: string } | { value: "unknown"; shown: string };

/**
 * A user's `active`: a JSON boolean (RFC 7643 §4.1.1), or the strings "true"/"false" in any case,
 * which some service providers answer (they copy what Entra sends). Anything else, or no `active`
 * at all, is unknown: nothing is concluded from it.
 */
export function activeOf(resource: Resource): Active {
  const active = attr(resource, "active");
  if (typeof active === "boolean") return { value: active, shown: `active=${active}` };
  if (typeof active === "string" && /^(true|false)$/i.test(active.trim())) {
    return { value: active.trim().toLowerCase() === "true", shown: `active=${JSON.stringify(active)} (a string, read as ${active.trim().toLowerCase()})` };
  }
  return { value: "unknown", shown: active === undefined ? "no active attribute" : `active=${JSON.stringify(active)} (not a boolean)` };
}

/** The subject's value `findAccount` looks for, or a permanent error saying which config to change. */
export function matchValueOf(subject: Subject, settings: ScimSettings): string {
  switch (settings.matchValue) {
    case "userName":
      return subject.userName;
    case "externalId":
      if (subject.externalId) return subject.externalId;
      throw new TargetError("permanent", "the subject has no externalId to match on: set matchValue: userName (or email), or have the IdP send externalId");
    case "email":
      if (subject.emails[0]) return subject.emails[0];
      throw new TargetError("permanent", "the subject has no email address to match on: set matchValue: userName");
  }
}

/** Whether a returned user carries `value` in `attribute` (userName and emails are caseExact=false, externalId caseExact=true: RFC 7643 §4.1). */
export function userMatches(resource: Resource, attribute: MatchAttribute, value: string): boolean {
  if (attribute === "externalId") return attr(resource, "externalId") === value;
  const same = (v: unknown) => typeof v === "string" && v.toLowerCase() === value.toLowerCase();
  if (attribute === "userName") return same(attr(resource, "userName"));
  const emails = attr(resource, "emails");
  return Array.isArray(emails) && emails.some((e) => isResource(e) && same(attr(e, "value")));
}

/**
 * `GET /Users?filter=<matchAttribute> eq "<value>"`. The answer is checked, not trusted: a service
 * provider that ignores a filter it does not support answers other users (targets-reference
 * §10.1), and acting on one of them would disable the wrong person.
 */
export async function findUser(subject: Subject, ctx: Ctx): Promise<Account | null> {
  const settings = settingsOf(ctx.config);
  const value = matchValueOf(subject, settings);
  const attribute = settings.matchAttribute;
  const r = await scimRequest(ctx, {
    path: "/Users",
    query: { filter: eqFilter(attribute, value), count: 2 },
    call: { kind: "search", resource: "Users", attribute },
  });
  const what = `GET /Users?filter=${attribute} eq …`;
  const page = listOf(r.body, what);
  if (page.resources.some((u) => !userMatches(u, attribute, value))) {
    throw new TargetError("permanent", `${what} answered users whose ${attribute} differs: the service provider ignores this filter; set matchAttribute to one it supports`);
  }
  if (page.totalResults > 1 || page.resources.length > 1) throw new TargetError("permanent", `${what} matched ${Math.max(page.totalResults, page.resources.length)} users: ${attribute} is not unique in this target; set matchAttribute to a unique one`);
  const user = page.resources[0];
  if (!user) {
    if (page.totalResults > 0) throw new TargetError("permanent", `${what} counted ${page.totalResults} users but returned none; cannot tell who the account is`);
    return null;
  }
  const id = attr(user, "id");
  if (typeof id !== "string" || id === "") throw new TargetError("permanent", `${what} answered a user without an id`);
  const userName = attr(user, "userName");
  return { id, data: typeof userName === "string" ? { userName } : {} };
}

const patchBody = (operation: Record<string, unknown>) => ({ schemas: [PATCH_OP], Operations: [operation] });

/** The user as PUT sends it back: what was read, minus `meta` and `groups` (read-only, RFC 7643 §4.1.2), with active=false. */
function putBody(resource: Resource): Resource {
  const body: Resource = {};
  for (const [key, value] of Object.entries(resource)) {
    if (!["meta", "groups", "active"].includes(key.toLowerCase())) body[key] = value;
  }
  if (!Array.isArray(attr(body, "schemas"))) body.schemas = [USER_SCHEMA];
  body.active = false;
  return body;
}

export const deactivateUser: RevokeStep<ScimConfig> = {
  name: "deactivate-user",
  async run(account, ctx) {
    const mode = settingsOf(ctx.config).deactivateWith;
    const read = await readUser(ctx, account.id);
    if ("gone" in read || activeOf(read.resource).value === false) return "already-done";
    const call = { kind: "deactivate", mode } as const;
    const path = userPath(account.id);
    const r = mode === "patch-path" ? await scimRequest(ctx, { method: "PATCH", path, json: patchBody({ op: "replace", path: "active", value: false }), call, answers: [404] })
      : mode === "patch-no-path" ? await scimRequest(ctx, { method: "PATCH", path, json: patchBody({ op: "replace", value: { active: false } }), call, answers: [404] })
      : mode === "put" ? await scimRequest(ctx, { method: "PUT", path, json: putBody(read.resource), call, answers: [404], ...(read.etag ? { ifMatch: read.etag } : {}) })
      : await scimRequest(ctx, { method: "DELETE", path, call, answers: [404] });
    return r.status === 404 ? "already-done" : "done";
  },
};

export const deleteUser: RevokeStep<ScimConfig> = {
  name: "delete-user",
  async run(account, ctx) {
    const r = await scimRequest(ctx, { method: "DELETE", path: userPath(account.id), call: { kind: "delete-user" }, answers: [404] });
    return r.status === 404 ? "already-done" : "done";
  },
};
