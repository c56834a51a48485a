/**
 * Access tokens (service account JWT assertion, domain-wide delegation) and Admin SDK requests.
 *
 * The token exchange is the one request not sent through `ctx.http`: Google's token endpoint takes
 * an `application/x-www-form-urlencoded` body (RFC 7523 §2.1; Google's service-account OAuth
 * guide), which `TargetRequest` cannot carry (JSON only). It still waits for `ctx.throttle`, honours
 * `ctx.signal`, has a timeout, and is classified by `classifyTokenError`.
 */
import { createHash } from "node:crypto";
import { importPKCS8, SignJWT } from "jose";
import { parseRetryAfter, shownPath, TargetError, type TargetContext, type TargetResponse } from "../../src/connector-kit.js";
import { SCOPES, settingsOf, type GoogleWorkspaceConfig, type GoogleWorkspaceSettings } from "./config.js";
import { classifyTokenError, CLASSIFIED_STATUSES, googleError } from "./errors.js";

export type Ctx = TargetContext<GoogleWorkspaceConfig>;

interface CachedToken {
  accessToken: string;
  /** Epoch ms after which the token is not used (a minute before Google's expiry). */
  usableUntil: number;
}

/** Per target credentials (token endpoint, client, admin, key): the key is hashed, never kept as a map key. */
const tokens = new Map<string, CachedToken>();
const EARLY_MS = 60_000;

const cacheKey = (s: GoogleWorkspaceSettings) =>
  createHash("sha256").update([s.tokenUri, s.clientEmail, s.adminEmail, s.privateKey].join("\n")).digest("hex");

/** Drops the cached token (after a 401), so the next call fetches a new one. */
export function forgetToken(config: GoogleWorkspaceConfig): void {
  tokens.delete(cacheKey(settingsOf(config)));
}

async function assertion(s: GoogleWorkspaceSettings): Promise<string> {
  let key: Awaited<ReturnType<typeof importPKCS8>>;
  try {
    key = await importPKCS8(s.privateKey, "RS256");
  } catch {
    throw new TargetError("auth", "privateKey is not a usable RSA PKCS#8 key: paste private_key from the service account's JSON key file");
  }
  const now = Math.floor(Date.now() / 1000); // wall clock: Google checks iat/exp against its own
  return new SignJWT({ scope: SCOPES.join(" ") })
    .setProtectedHeader({ alg: "RS256", typ: "JWT" })
    .setIssuer(s.clientEmail)
    .setSubject(s.adminEmail)
    .setAudience(s.tokenUri)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(key);
}

/** A bearer token for the target: cached until a minute before it expires. `cached` says whether it came from the cache. */
export async function accessToken(ctx: Ctx): Promise<{ token: string; cached: boolean }> {
  const s = settingsOf(ctx.config);
  const k = cacheKey(s);
  const cached = tokens.get(k);
  if (cached && cached.usableUntil > Date.now()) return { token: cached.accessToken, cached: true };

  await ctx.throttle?.();
  const form = new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion: await assertion(s) });
  let response: Response;
  let body: unknown = null;
  try {
    response = await fetch(s.tokenUri, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: form.toString(),
      signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(10_000)]),
    });
    const text = await response.text();
    try {
      body = text === "" ? null : (JSON.parse(text) as unknown);
    } catch {
      body = text;
    }
  } catch (error) {
    throw new TargetError("retryable", `POST token endpoint failed: ${(error as Error).name}`, { cause: error });
  }
  if (response.status !== 200) {
    const { kind, message } = classifyTokenError(response.status, body);
    const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), ctx.now());
    throw new TargetError(kind, message, { status: response.status, ...(retryAfterMs !== undefined && kind !== "auth" ? { retryAfterMs } : {}) });
  }
  const b = body as { access_token?: unknown; expires_in?: unknown } | null;
  if (typeof b?.access_token !== "string" || typeof b.expires_in !== "number") {
    throw new TargetError("retryable", "POST token endpoint answered 200 without access_token and expires_in");
  }
  tokens.set(k, { accessToken: b.access_token, usableUntil: Date.now() + b.expires_in * 1000 - EARLY_MS });
  return { token: b.access_token, cached: false };
}

export interface GoogleCall {
  method?: "GET" | "POST" | "PUT" | "DELETE";
  /** Under /admin/directory/v1, each segment already encoded: `/users/123/tokens`. */
  path: string;
  query?: Record<string, string | number | undefined>;
  json?: unknown;
  /** Error statuses that are answers for this call (404 for "already gone"). */
  answers?: readonly number[];
}

/** `METHOD /path` as messages show it (emails masked, no query). */
export const whatOf = (ctx: Ctx, call: GoogleCall) => `${call.method ?? "GET"} ${shownPath(new URL(settingsOf(ctx.config).directoryUrl + call.path))}`;

/**
 * One Admin SDK request: raw status received, then classified by `classifyGoogleError`. A 401 on
 * a cached token (revoked, or the key rotated) drops it and tries once more with a fresh one.
 */
export async function google<T = Record<string, unknown>>(ctx: Ctx, call: GoogleCall): Promise<TargetResponse<T>> {
  const s = settingsOf(ctx.config);
  const send = (token: string) => ctx.http.request<T>(s.directoryUrl + call.path, {
    method: call.method ?? "GET",
    headers: { authorization: `Bearer ${token}` },
    ...(call.json !== undefined ? { json: call.json } : {}),
    ...(call.query ? { query: call.query } : {}),
    accept: CLASSIFIED_STATUSES,
  });
  const first = await accessToken(ctx);
  let r = await send(first.token);
  if (r.status === 401) {
    forgetToken(ctx.config);
    if (first.cached) r = await send((await accessToken(ctx)).token);
    if (r.status === 401) forgetToken(ctx.config);
  }
  if (r.status < 400 || call.answers?.includes(r.status)) return r;
  throw googleError(r.status, r.body, whatOf(ctx, call), parseRetryAfter(r.headers.get("retry-after"), ctx.now()));
}

export const seg = (value: string | number) => encodeURIComponent(String(value));
