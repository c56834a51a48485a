/**
 * What every SCIM request goes through before and after its route, whichever HTTP layer carries
 * it (the express router in router.ts, or the fast lane in src/http/scim-fast-lane.ts):
 * authentication into a context, the resources' base path, and the rendering of failures.
 */
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import SCIMMY from "scimmy";
import type { Logger } from "../log.js";
import type { Db } from "../storage/db.js";
import type { ScimAuthenticator } from "./auth.js";
import type { ChangeRecorder } from "./changes.js";
import type { AnswerHeaders, ScimContext } from "./context.js";
import { wanted } from "./lists.js";
import { describeScimError, errorBody } from "./scim-error.js";

export interface ScimEdgeDeps {
  db: Db;
  log: Logger;
  authenticator: ScimAuthenticator;
  recorder: ChangeRecorder;
}

/** The answer to a request that cannot go on: its status, extra headers, and §3.12 body. */
export interface ScimRefusal {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

/** What a request carries that the edge reads. */
export interface ScimRequestHead {
  authorization: string | undefined;
  ifMatch: string | undefined;
  query: Record<string, unknown>;
}

/** What the edge reads of a request: its credentials, its If-Match, and its parsed query. */
export function requestHead(req: IncomingMessage, query: Record<string, unknown>): ScimRequestHead {
  return { authorization: req.headers.authorization, ifMatch: req.headers["if-match"], query };
}

/**
 * The bridge's base URL as this request sees it: PUBLIC_URL, or the scheme of its socket and its
 * Host header (what express's `req.protocol` and `req.get("host")` give without `trust proxy`).
 */
export function requestBase(publicUrl: string | undefined, req: IncomingMessage): string {
  return publicUrl ?? `${(req.socket as TLSSocket).encrypted ? "https" : "http"}://${req.headers.host ?? "localhost"}`;
}

/**
 * Sets where SCIMMY says resources live (meta.location). SCIMMY keeps it process-wide, so it is
 * set on every request from that request's base.
 */
export function useBasepath(location: string): void {
  SCIMMY.Resources.User.basepath(location);
  SCIMMY.Resources.Group.basepath(location);
}

/** The connection the request speaks for, as the context its route runs with; or the refusal. */
export async function authenticateScim(deps: ScimEdgeDeps, head: ScimRequestHead, answer: AnswerHeaders): Promise<ScimContext | ScimRefusal> {
  try {
    const result = await deps.authenticator.authenticate(head.authorization);
    if (!result.ok) return { status: 401, headers: { "WWW-Authenticate": 'Bearer realm="scim-bridge"' }, body: errorBody(401, null, result.detail) };
    answer.locals.connectionId = result.connectionId;
    const attributes = head.query.attributes as string | undefined;
    const excludedAttributes = head.query.excludedAttributes as string | undefined;
    return {
      connectionId: result.connectionId,
      db: deps.db,
      recorder: deps.recorder,
      log: deps.log,
      res: answer,
      ifMatch: head.ifMatch,
      withMembers: wanted("members", { attributes, excludedAttributes }),
    };
  } catch (error) {
    deps.log.error("SCIM authentication could not complete", { error });
    return { status: 503, headers: {}, body: errorBody(503, null, "The bridge cannot reach its database; retry later") };
  }
}

export const isRefusal = (outcome: ScimContext | ScimRefusal): outcome is ScimRefusal => "status" in outcome;

/**
 * The answer to a body the JSON parser refused, from its error's `type` and `status` (body-parser
 * raises http-errors); undefined for errors that are not the parser's.
 */
export function bodyRefusal(error: { type?: unknown; status?: unknown } | undefined, maxBodyBytes: number): ScimRefusal | undefined {
  const refuse = (status: number, scimType: string | null, detail: string): ScimRefusal => ({ status, headers: {}, body: errorBody(status, scimType, detail) });
  const type = error?.type;
  if (type === "entity.too.large") return refuse(413, null, `The request body exceeds ${maxBodyBytes} bytes`);
  if (type === "entity.parse.failed") return refuse(400, "invalidSyntax", "The request body is not valid JSON");
  if (type === "charset.unsupported" || type === "encoding.unsupported") return refuse(415, null, "Send the body as UTF-8 JSON");
  // e.g. a gzip body that does not inflate, or one shorter than its Content-Length
  if (typeof error?.status === "number" && error.status >= 400 && error.status < 500) {
    return refuse(error.status, error.status === 400 ? "invalidSyntax" : null, "The request body could not be read: check its Content-Encoding and Content-Length");
  }
  return undefined;
}

/** Status and §3.12 body for an error thrown on a SCIM route: never a stack, SQL or token. */
export function scimFailure(error: unknown, log: Logger, path: string): { status: number; body: Record<string, unknown> } {
  const scim = describeScimError(error);
  if (scim) return scim;
  if (error instanceof TypeError) return { status: 400, body: errorBody(400, "invalidValue", error.message) };
  log.error("unexpected error on SCIM route", { path, error, stack: (error as Error)?.stack });
  return { status: 500, body: errorBody(500, null, "Internal error; the bridge has logged it") };
}
