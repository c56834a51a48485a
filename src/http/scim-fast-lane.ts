/**
 * The IdP's lookups — `GET /scim/v2/Users?filter=userName eq "…"`, which Okta and Entra send
 * before every push, and the same list of Groups — served on node's http directly, by the
 * functions the express routes use: authentication (scim/edge.ts), lists.ts, the failure
 * renderer, the request log. express 5 cost this bridge about 0.45 ms of main-thread time per
 * such request (it swaps the prototypes of req and res and re-parses the query string on every
 * read of req.query): more than the lookup itself.
 *
 * Anything else — another path, method or spelling of the path, a request with a body — goes to
 * the express app, which stays the reference: test/http/scim-fast-lane.test.ts sends the same
 * requests both ways and asserts the same answers.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { parse as parseQuery } from "node:querystring";
import type { TLSSocket } from "node:tls";
import type { Logger } from "../log.js";
import type { AnswerHeaders } from "../scim/context.js";
import { authenticateScim, isRefusal, scimFailure, useBasepath, type ScimEdgeDeps } from "../scim/edge.js";
import { listResources, type ListLimits } from "../scim/lists.js";
import { logWhenFinished } from "./request-log.js";

export interface ScimFastLaneDeps extends ScimEdgeDeps {
  limits: ListLimits;
  /** The public base URL (PUBLIC_URL); unset → taken from each request's Host, as express does. */
  publicUrl: string | undefined;
  /** The request log (module "http"), as the express app's. */
  httpLog: Logger;
  /** Where SCIM is mounted: "/scim/v2". */
  scimPath: string;
}

type Kind = "User" | "Group";

export function scimFastLane(deps: ScimFastLaneDeps, fallback: RequestListener): RequestListener {
  const lists = new Map<string, Kind>([
    [`${deps.scimPath}/Users`, "User"],
    [`${deps.scimPath}/Groups`, "Group"],
  ]);
  return (req, res) => {
    const url = req.url ?? "";
    const mark = url.indexOf("?");
    // A body on a GET is parsed (and may be refused) by the express app's JSON parser: leave it to it.
    const bodiless = req.headers["content-length"] === undefined && req.headers["transfer-encoding"] === undefined;
    const kind = req.method === "GET" && bodiless ? lists.get(mark < 0 ? url : url.slice(0, mark)) : undefined;
    if (kind === undefined) return void fallback(req, res);
    void list(kind, mark < 0 ? "" : url.slice(mark + 1), req, res);
  };

  async function list(kind: Kind, search: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const query = parseQuery(search) as Record<string, unknown>;
    const answer: AnswerHeaders = { setHeader: (name, value) => res.setHeader(name, value), locals: {} };
    logWhenFinished(deps.httpLog, req, res, () => ({
      connectionId: answer.locals.connectionId as string | undefined,
      scimId: answer.locals.scimId as string | undefined,
      queryKeys: () => Object.keys(query),
    }));
    try {
      const protocol = (req.socket as TLSSocket).encrypted ? "https" : "http";
      useBasepath((deps.publicUrl ?? `${protocol}://${req.headers.host ?? "localhost"}`) + deps.scimPath);
      const outcome = await authenticateScim(deps, { authorization: req.headers.authorization, ifMatch: req.headers["if-match"], query }, answer);
      if (isRefusal(outcome)) return send(res, outcome.status, outcome.body, outcome.headers);
      send(res, 200, await listResources(kind, query, outcome, deps.limits));
    } catch (error) {
      const failure = scimFailure(error, deps.log, `/${kind}s`);
      send(res, failure.status, failure.body);
    }
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
