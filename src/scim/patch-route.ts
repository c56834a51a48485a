import type { Request, Response } from "express";
import SCIMMY from "scimmy";
import { scimOf, type ScimContext } from "./context.js";
import { withSchemas } from "./with-schemas.js";
import { unnarrowed, userJson } from "./representation.js";
import { writeGroup } from "./group-handlers.js";
import { readUserForPatch, writeUser } from "./user-handlers.js";
import { simplePatch } from "./simple-patch.js";
import { userDefinition } from "./dialect.js";
import type { UserRecord } from "../storage/users-repo.js";
import { scimError } from "./scim-error.js";
import { KeyedLock } from "./keyed-lock.js";
import { RetryPatch } from "./storage-guard.js";
import { isObject } from "./canonical-json.js";

/** How often a PATCH re-applies when another replica wrote the row between its read and its write. */
const PATCH_ATTEMPTS = 8;
const patchLock = new KeyedLock();
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Entra ID replaces `emails[type eq "work"].value` on users that have no work email yet, expecting
 * it to be added (as Microsoft's SCIM guidance shows); RFC 7644 §3.5.2.3 would answer 400 noTarget.
 * When a simple `attr[sub eq "x"].leaf` filter matches no value, the op becomes an add of
 * `{sub: "x", leaf: value}` to `attr`.
 */
export function addMissingValuePathTargets(body: unknown, currentOf: () => Record<string, unknown>): unknown {
  if (!isObject(body) || !Array.isArray(body.Operations)) return body;
  let current: Record<string, unknown> | undefined;
  const Operations = body.Operations.map((operation: unknown) => {
    if (!isObject(operation) || typeof operation.path !== "string" || !["add", "replace"].includes(String(operation.op))) return operation;
    const match = /^(\w+)\[\s*(\w+)\s+eq\s+"([^"]*)"\s*\]\.(\w+)$/i.exec(operation.path);
    if (!match) return operation;
    const [, attr, sub, wantedValue, leaf] = match as unknown as [string, string, string, string, string];
    current ??= currentOf();
    const key = Object.keys(current).find((k) => k.toLowerCase() === attr.toLowerCase());
    const values = key && Array.isArray(current[key]) ? (current[key] as Record<string, unknown>[]) : [];
    const hit = values.some((v) => {
      const subKey = Object.keys(v).find((k) => k.toLowerCase() === sub.toLowerCase());
      return subKey !== undefined && String(v[subKey]).toLowerCase() === wantedValue.toLowerCase();
    });
    return hit ? operation : { op: "add", path: attr, value: [{ [sub]: wantedValue, [leaf]: operation.value }] };
  });
  return { ...body, Operations };
}

/**
 * PATCH (RFC 7644 §3.5.2), run here rather than by scimmy-routers so that it reads the full
 * resource whatever `attributes` asks for, re-applies itself when a concurrent write got in
 * between its read and its write (optimistic, on the row version), and answers as IdPs expect:
 * a User with 200 and the resource (Okta), a Group with 204 No Content (Entra's guidance: no
 * member list back), unless `attributes`/`excludedAttributes` ask for a body.
 * SCIMMY applies the operations and validates the result ("in" schema); the result is stored by
 * the same write the ingress handler uses, without SCIMMY's extra "out" round trips. A User
 * PATCH that only assigns plain attributes (simple-patch.ts: deprovisioning's `active false`) is
 * applied directly and stored by the same write.
 */
export function patchRoute(kind: "User" | "Group") {
  const patch = patcher(kind);
  return async (req: Request, res: Response, next: (error?: unknown) => void): Promise<void> => {
    try {
      const answer = await patch(req.params.id as string, req.body, req.query as Record<string, unknown>, scimOf(req));
      if (answer.body === undefined) res.status(answer.status).end();
      else res.status(answer.status).send(answer.body);
    } catch (error) {
      next(error);
    }
  };
}

/** What a PATCH answers: its status, and the resource unless it is 204. */
export interface PatchAnswer {
  status: 200 | 204;
  body?: Record<string, unknown>;
}

/**
 * PATCH of one resource, whatever carries the request: the id, the (normalised) PatchOp body,
 * the query (attributes/excludedAttributes) and the request's context. Throws what the route
 * renders as a SCIM error.
 */
export function patcher(kind: "User" | "Group"): (id: string, requestBody: unknown, query: Record<string, unknown>, base: ScimContext) => Promise<PatchAnswer> {
  const Resource = kind === "User" ? SCIMMY.Resources.User : SCIMMY.Resources.Group;
  const Schema = kind === "User" ? SCIMMY.Schemas.User : SCIMMY.Schemas.Group;
  const write = kind === "User" ? writeUser : writeGroup;
  return async (id, requestBody, query, base) => {
    if (!isObject(requestBody)) throw scimError(400, "invalidSyntax", "PatchOp request expected message body to be single complex value");
    // Validates attributes/excludedAttributes when the request narrows its answer.
    const shaped = unnarrowed(query) ? undefined : new Resource(id, query as Record<string, string>);
    const simple = kind === "User" && !shaped ? simplePatch(userDefinition(), requestBody) : undefined;
    return patchLock.run(`${base.connectionId}/${kind}/${id}`, async (): Promise<PatchAnswer> => {
      for (let attempt = 1; ; attempt++) {
        const ctx: ScimContext = { ...base, patch: {} };
        try {
          if (simple) {
            const before = await readUserForPatch(ctx, id);
            await writeUser(ctx, id, simple(before.resource));
            return { status: 200, body: userJson(ctx.written as UserRecord, Resource.basepath() as string) };
          }
          const current = (await new Resource(id).read(ctx)) as unknown as InstanceType<typeof Schema>;
          const body = addMissingValuePathTargets(requestBody, () => JSON.parse(JSON.stringify(current)) as Record<string, unknown>);
          const patched = await new SCIMMY.Messages.PatchOp(body as never).apply(current as never, async (instance: unknown) =>
            write(ctx, id, new Schema(instance as never, "in")),
          );
          if (!unnarrowed(query)) {
            return { status: 200, body: withSchemas(new Schema((patched ?? current) as never, "out", Resource.basepath() as string, shaped?.attributes), kind) as Record<string, unknown> };
          }
          if (kind === "Group") return { status: 204 };
          return { status: 200, body: userJson(ctx.written as UserRecord, Resource.basepath() as string) };
        } catch (error) {
          if (!(error instanceof RetryPatch) || attempt >= PATCH_ATTEMPTS) throw error;
          await pause(Math.random() * 5 * attempt); // jitter: two replicas must not collide again in step
        }
      }
    });
  };
}
