/**
 * One GitHub REST request through `ctx.http`, with the documented headers
 * (docs.github.com/rest/using-the-rest-api/getting-started-with-the-rest-api), and `Link`
 * pagination (docs.github.com/rest/using-the-rest-api/using-pagination-in-the-rest-api).
 */
import { TargetError, type TargetContext } from "../../src/connector-kit.js";
import { settingsOf, type GithubConfig } from "./config.js";
import { githubError, READ_STATUSES, type GithubCall } from "./errors.js";

export type Ctx = TargetContext<GithubConfig>;

export interface GithubRequest {
  method?: "GET" | "POST" | "DELETE";
  /** Relative to baseUrl, each segment already encoded. */
  path: string;
  query?: Record<string, string | number>;
  json?: unknown;
  call: GithubCall;
  /** Error statuses the caller reads itself (404: already gone). */
  answers?: readonly number[];
}

export interface GithubResponse {
  status: number;
  headers: Headers;
  body: unknown;
  /** "METHOD /path": never the query string. */
  what: string;
}

const MAX_PAGES = 50;

async function send(ctx: Ctx, url: string, request: GithubRequest): Promise<GithubResponse> {
  const settings = settingsOf(ctx.config);
  const method = request.method ?? "GET";
  const response = await ctx.http.request(url, {
    method,
    headers: {
      authorization: settings.authorization,
      accept: "application/vnd.github+json",
      "x-github-api-version": settings.apiVersion,
      // GitHub refuses requests without a User-Agent
      "user-agent": "scim-bridge",
    },
    ...(request.json !== undefined ? { json: request.json } : {}),
    ...(request.query ? { query: request.query } : {}),
    accept: [...new Set([...READ_STATUSES, ...(request.answers ?? [])])],
  });
  const what = `${method} ${new URL(url).pathname}`;
  if ((response.status >= 300 || response.status < 200) && !(request.answers ?? []).includes(response.status)) {
    throw githubError(response.status, response.headers, response.body, request.call, what, ctx.now());
  }
  return { status: response.status, headers: response.headers, body: response.body, what };
}

export function orgPath(ctx: Ctx, rest = ""): string {
  return `/orgs/${encodeURIComponent(settingsOf(ctx.config).org)}${rest}`;
}

export async function githubRequest(ctx: Ctx, request: GithubRequest): Promise<GithubResponse> {
  return send(ctx, settingsOf(ctx.config).baseUrl + request.path, request);
}

/** The `rel="next"` URL of a Link header, if any. */
export function nextLink(link: string | null): string | null {
  if (!link) return null;
  for (const part of link.split(",")) {
    const match = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part.trim());
    if (match) return match[1]!;
  }
  return null;
}

/** Every item of a listing, following `Link: rel="next"` on the same origin only (the token goes nowhere else). */
export async function listAll(ctx: Ctx, request: GithubRequest): Promise<{ items: Record<string, unknown>[]; what: string }> {
  const base = new URL(settingsOf(ctx.config).baseUrl);
  const items: Record<string, unknown>[] = [];
  let r = await githubRequest(ctx, { ...request, query: { per_page: 100, ...request.query } });
  for (let page = 1; ; page++) {
    if (!Array.isArray(r.body)) throw new TargetError("permanent", `${r.what} answered ${r.status} with a body that is not a list; the listing cannot be read`);
    for (const item of r.body) if (typeof item === "object" && item !== null) items.push(item as Record<string, unknown>);
    const next = nextLink(r.headers.get("link"));
    if (!next) return { items, what: r.what };
    if (page >= MAX_PAGES) throw new TargetError("permanent", `${r.what}: more than ${MAX_PAGES} pages; the listing cannot be read whole`);
    const url = new URL(next, base);
    if (url.origin !== base.origin) throw new TargetError("permanent", `${r.what}: the next page is on another origin (${url.origin}); not followed`);
    r = await send(ctx, url.toString(), { ...request, query: undefined });
  }
}
