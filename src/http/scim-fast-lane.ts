/**
 * The IdPs' two hottest requests served on node's http directly: the lookup
 * (`GET /scim/v2/Users?filter=userName eq "…"`, sent before every push, and the same list of
 * Groups) and the PATCH of one User or Group (deprovisioning's `active: false`, group member
 * changes). They run the functions the express routes run: authentication (scim/edge.ts),
 * lists.ts, the IdP dialects, patch-route.ts, the failure renderer, the request log. express 5
 * cost this bridge about 0.45 ms of main-thread time per such request (it swaps the prototypes
 * of req and res and re-parses the query string on every read of req.query): more than the
 * lookup itself.
 *
 * Anything else — another path, method or spelling of the path, a body the JSON parser would
 * have to inflate, decode or refuse for its size — goes to the express app, which stays the
 * reference: test/http/scim-fast-lane.test.ts sends the same requests both ways and asserts the
 * same answers.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { parse as parseQuery } from "node:querystring";
import type { Logger } from "../log.js";
import type { AnswerHeaders } from "../scim/context.js";
import { groupDefinition, normalisePatchBody, userDefinition } from "../scim/dialect.js";
import { authenticateScim, bodyRefusal, isRefusal, requestBase, requestHead, scimFailure, useBasepath, type ScimEdgeDeps } from "../scim/edge.js";
import { listResources, type ListLimits } from "../scim/lists.js";
import { patcher } from "../scim/patch-route.js";
import { logWhenFinished } from "./request-log.js";

export interface ScimFastLaneDeps extends ScimEdgeDeps {
  limits: ListLimits & { maxBodyBytes: number };
  /** The public base URL (PUBLIC_URL); unset → taken from each request's Host, as express does. */
  publicUrl: string | undefined;
  /** The request log (module "http"), as the express app's. */
  httpLog: Logger;
  /** Where SCIM is mounted: "/scim/v2". */
  scimPath: string;
}

type Kind = "User" | "Group";

/** Media types the express app's JSON parser takes that need nothing but UTF-8 decoding. */
const PLAIN_JSON = /^application\/(scim\+)?json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;
/** A resource id as it appears unencoded in a path: express would decode nothing in it. */
const PLAIN_ID = "[A-Za-z0-9._~-]+";

export function scimFastLane(deps: ScimFastLaneDeps, fallback: RequestListener): RequestListener {
  const lists = new Map<string, Kind>([
    [`${deps.scimPath}/Users`, "User"],
    [`${deps.scimPath}/Groups`, "Group"],
  ]);
  const oneResource = new RegExp(`^${deps.scimPath.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/(Users|Groups)/(${PLAIN_ID})$`);
  const patchers = { User: patcher("User"), Group: patcher("Group") };

  return (req, res) => {
    const url = req.url ?? "";
    const mark = url.indexOf("?");
    const path = mark < 0 ? url : url.slice(0, mark);
    const search = mark < 0 ? "" : url.slice(mark + 1);
    if (req.method === "GET") {
      // A body on a GET is parsed (and may be refused) by the express app's JSON parser: leave it to it.
      const kind = req.headers["content-length"] === undefined && req.headers["transfer-encoding"] === undefined ? lists.get(path) : undefined;
      if (kind !== undefined) return void list(kind, search, req, res);
    } else if (req.method === "PATCH") {
      const target = oneResource.exec(path);
      if (target && plainJsonBody(req, deps.limits.maxBodyBytes)) return void patch(target[1] === "Users" ? "User" : "Group", target[2]!, search, req, res);
    }
    fallback(req, res);
  };

  /** The request's log line, and what a handler may set on the answer (ETag, the SCIM id it concerned). */
  function begin(req: IncomingMessage, res: ServerResponse, query: Record<string, unknown>): AnswerHeaders {
    const answer: AnswerHeaders = { setHeader: (name, value) => res.setHeader(name, value), locals: {} };
    logWhenFinished(deps.httpLog, req, res, () => ({
      connectionId: answer.locals.connectionId as string | undefined,
      scimId: answer.locals.scimId as string | undefined,
      queryKeys: () => Object.keys(query),
    }));
    useBasepath(requestBase(deps.publicUrl, req) + deps.scimPath);
    return answer;
  }

  async function list(kind: Kind, search: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const query = parseQuery(search) as Record<string, unknown>;
    const answer = begin(req, res, query);
    try {
      const outcome = await authenticateScim(deps, requestHead(req, query), answer);
      if (isRefusal(outcome)) return send(res, outcome.status, outcome.body, outcome.headers);
      send(res, 200, await listResources(kind, query, outcome, deps.limits));
    } catch (error) {
      const failure = scimFailure(error, deps.log, `/${kind}s`);
      send(res, failure.status, failure.body);
    }
  }

  async function patch(kind: Kind, id: string, search: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const query = parseQuery(search) as Record<string, unknown>;
    const answer = begin(req, res, query);
    try {
      // As in the express app: the body is parsed before the request is authenticated.
      const parsed = parseJson(await readBody(req));
      if (parsed === undefined) {
        const refusal = bodyRefusal({ type: "entity.parse.failed" }, deps.limits.maxBodyBytes)!;
        return send(res, refusal.status, refusal.body);
      }
      const outcome = await authenticateScim(deps, requestHead(req, query), answer);
      if (isRefusal(outcome)) return send(res, outcome.status, outcome.body, outcome.headers);
      const body = normalisePatchBody(kind === "User" ? userDefinition() : groupDefinition(), parsed.value);
      const result = await patchers[kind](id, body, query, outcome);
      if (result.body !== undefined) return send(res, result.status, result.body);
      res.statusCode = result.status;
      res.setHeader("Content-Type", "application/scim+json");
      res.end();
    } catch (error) {
      if (!req.complete) return; // the client went away before its body arrived: nobody to answer
      const failure = scimFailure(error, deps.log, `/${kind}s/${id}`);
      send(res, failure.status, failure.body);
    }
  }
}

/**
 * Whether the body is one the express app's JSON parser would take as it stands: a declared
 * length within the limit, a JSON media type in UTF-8, no content coding. Anything else (chunked,
 * gzip, another charset, too large, another media type) is the parser's to answer.
 */
function plainJsonBody(req: IncomingMessage, maxBodyBytes: number): boolean {
  const length = req.headers["content-length"];
  const type = req.headers["content-type"];
  const coding = req.headers["content-encoding"];
  return (
    length !== undefined && /^\d+$/.test(length) && Number(length) <= maxBodyBytes &&
    req.headers["transfer-encoding"] === undefined &&
    type !== undefined && PLAIN_JSON.test(type) &&
    (coding === undefined || coding.toLowerCase() === "identity")
  );
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.once("end", () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.once("error", reject);
    req.once("close", () => (req.complete ? undefined : reject(new Error("the request was aborted before its body arrived"))));
  });
}

/** As the express app's parser (body-parser, `strict: false`): empty is `{}`, a BOM is dropped; undefined when it is not JSON. */
function parseJson(raw: Buffer): { value: unknown } | undefined {
  if (raw.length === 0) return { value: {} };
  const text = raw.toString("utf8");
  try {
    return { value: JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) };
  } catch {
    return undefined;
  }
}

/** As express's `res.status(status).send(body)` answers with the SCIM router's content type. */
function send(res: ServerResponse, status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader("Content-Type", "application/scim+json; charset=utf-8");
  res.setHeader("Content-Length", Buffer.byteLength(text));
  res.end(text);
}
