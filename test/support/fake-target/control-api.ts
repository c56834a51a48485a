/**
 * The fake target's control API (no auth), its shapes and a typed client. Tests and the engine
 * bench drive a tenant through it: seed users, set a mode, read the counters, reset.
 *
 *   POST /_control/:tenant/users   {token?, users: SeedUser[]}   → 200 {tenant, users: [{id, userName}]}
 *   PUT  /_control/:tenant/mode    ModeSettings                  → 200 {tenant, settings}
 *   GET  /_control/:tenant/stats                                 → 200 FakeTargetStats
 *   POST /_control/:tenant/reset   {what?: "all" | "stats"}      → 200 {tenant, reset}
 *   GET  /_control/:tenant/users?userName=alice                  → 200 UserView (the truth, whatever the mode) | 404
 *
 * A tenant exists from its first control call. Bad input → 400 {error}.
 */

export const FAKE_TARGET_MODES = ["honest", "eventual", "liar", "flaky", "rate-limited", "down", "auth-broken", "already-gone"] as const;
export type FakeTargetMode = (typeof FAKE_TARGET_MODES)[number];

/** `PUT /_control/:tenant/mode` body. Options a mode does not use are kept and ignored. */
export interface ModeSettings {
  mode: FakeTargetMode;
  /** eventual: how long reads keep showing the state from before a write (Default: 1000). */
  lagMs?: number;
  /** flaky: share of requests answered 503, drawn from a seeded PRNG (Default: 0.5 unless `failEvery`). */
  failureRate?: number;
  /** flaky: every Nth request (counted from this mode change) is answered 503; deterministic. */
  failEvery?: number;
  /** flaky: the PRNG seed for `failureRate` (Default: 1). */
  seed?: number;
  /** flaky: a failed write still lands before its 503, like a response lost on the way back (Default: false). */
  failAfterWrite?: boolean;
  /** Any mode: a token bucket of this many requests a second; over it → 429 (Default: none; `rate-limited`: 10). */
  limitPerSec?: number;
  /** The bucket's size (Default: limitPerSec). */
  burst?: number;
  /** The Retry-After announced in a 429 (Default: seconds until the next token, at least 1). */
  retryAfterSeconds?: number;
  /** Requests arriving this soon after a 429 went out were in flight, not violations (Default: 50). */
  retryAfterGraceMs?: number;
  /** Any mode: answer this much later (Default: 0). */
  latencyMs?: number;
}

/** `POST /_control/:tenant/users` body item. A userName seeded twice is reset to the new seed and keeps its id. */
export interface SeedUser {
  userName: string;
  teams?: string[];
  /** Default: true. */
  active?: boolean;
  /** Default: 2. */
  sessions?: number;
  /** Default: 1. */
  tokens?: number;
}

/** A user as the tenant API shows it. */
export interface UserView {
  id: string;
  userName: string;
  active: boolean;
  sessions: number;
  tokens: number;
  teams: string[];
}

export type WriteName = "revoke-sessions" | "suspend-user" | "delete-user" | "remove-from-team";

export type RouteName =
  | "GET /users?userName"
  | "GET /users/:id"
  | "POST /users/:id/revoke-sessions"
  | "POST /users/:id/suspend"
  | "DELETE /users/:id"
  | "DELETE /users/:id/teams/:team"
  | "other";

/** Per user: counts keyed by write name, team removals as `remove-from-team:<team>`. */
export interface UserEffects {
  id: string;
  effects: Record<string, number>;
  duplicates: Record<string, number>;
  ignored: Record<string, number>;
}

/** `GET /_control/:tenant/stats`. */
export interface FakeTargetStats {
  tenant: string;
  settings: ModeSettings;
  /** Users that exist now (deleted ones excluded). */
  userCount: number;
  requests: { total: number; byRoute: Partial<Record<RouteName, number>>; byStatus: Record<string, number> };
  rateLimit: {
    tooManyRequests: number;
    retryAfterViolations: number;
    /** Requests that arrived within the grace after a 429 (in flight when it was sent), not counted as violations. */
    inFlightAfter429: number;
    /** The current or last Retry-After window: from the first 429 of the window to the latest moment announced. */
    window: { from: string; until: string } | null;
  };
  /** Totals over all users, keyed by write name (team suffix dropped). */
  writes: { effects: Record<string, number>; duplicates: Record<string, number>; ignored: Record<string, number> };
  /** Only users that received a write, keyed by userName. */
  effectsByUser: Record<string, UserEffects>;
}


/** Throws a message the control API answers as 400. */
export class ControlError extends Error {}

export function checkSettings(input: unknown): ModeSettings {
  if (typeof input !== "object" || input === null) throw new ControlError("body must be an object with a mode");
  const settings = input as ModeSettings;
  if (!FAKE_TARGET_MODES.includes(settings.mode)) throw new ControlError(`mode must be one of ${FAKE_TARGET_MODES.join(", ")}`);
  for (const key of ["lagMs", "failureRate", "failEvery", "seed", "limitPerSec", "burst", "retryAfterSeconds", "retryAfterGraceMs", "latencyMs"] as const) {
    const value = settings[key];
    if (value !== undefined && (typeof value !== "number" || !Number.isFinite(value) || value < 0)) throw new ControlError(`${key} must be a number ≥ 0`);
  }
  if (settings.failEvery !== undefined && settings.failEvery < 1) throw new ControlError("failEvery must be ≥ 1");
  if (settings.limitPerSec !== undefined && settings.limitPerSec <= 0) throw new ControlError("limitPerSec must be > 0");
  return { ...settings };
}

export interface SeedResponse {
  tenant: string;
  users: { id: string; userName: string }[];
}

/** A typed client of one fake target's control API. */
export interface FakeTargetControl {
  /** The base URL a connector config takes: `<url>/t/<tenant>`. */
  tenantUrl(tenant: string): string;
  seed(tenant: string, body: { token?: string; users: readonly SeedUser[] }): Promise<SeedResponse>;
  setMode(tenant: string, settings: ModeSettings): Promise<ModeSettings>;
  stats(tenant: string): Promise<FakeTargetStats>;
  reset(tenant: string, what?: "all" | "stats"): Promise<void>;
  /** The true state of a user, or null when there is none. */
  user(tenant: string, userName: string): Promise<UserView | null>;
}

export function fakeTargetControl(url: string): FakeTargetControl {
  const control = (tenant: string) => `${url}/_control/${encodeURIComponent(tenant)}`;
  async function call<T>(method: string, path: string, body?: unknown, accept404 = false): Promise<T | null> {
    const response = await fetch(path, {
      method,
      ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
    });
    if (accept404 && response.status === 404) return null;
    if (!response.ok) throw new Error(`fake target control ${method} ${path} answered ${response.status}: ${await response.text()}`);
    return (await response.json()) as T;
  }
  return {
    tenantUrl: (tenant) => `${url}/t/${encodeURIComponent(tenant)}`,
    seed: async (tenant, body) => (await call<SeedResponse>("POST", `${control(tenant)}/users`, body))!,
    setMode: async (tenant, settings) => (await call<{ settings: ModeSettings }>("PUT", `${control(tenant)}/mode`, settings))!.settings,
    stats: async (tenant) => (await call<FakeTargetStats>("GET", `${control(tenant)}/stats`))!,
    reset: async (tenant, what = "all") => { await call("POST", `${control(tenant)}/reset`, { what }); },
    user: (tenant, userName) => call<UserView>("GET", `${control(tenant)}/users?userName=${encodeURIComponent(userName)}`, undefined, true),
  };
}
