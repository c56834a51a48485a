/**
 * One tenant of the fake target: its users, its mode and its counters. `server.ts` routes HTTP to
 * `Tenant.handle`; everything here is synchronous, so a request's effect and its counters change
 * together and the engine bench (10,000 users × 3 tenants × 200 req/s) costs microseconds each.
 *
 * Words: a *write* is one of the four revoking calls; it has an *effect* when it changed state
 * (sessions or tokens revoked while > 0, suspend while active, delete of an existing user, team
 * removal of a member), is a *duplicate* when it reached the user and changed nothing (a repeat, or
 * state already gone), and is *ignored* when the mode swallowed it (`liar`, `already-gone`).
 */
import { type FakeTargetStats, type ModeSettings, type RouteName, type SeedUser, type UserEffects, type UserView, type WriteName, ControlError } from "./control-api.js";
import { prng } from "../prng.js";

/** A tenant-API request, already routed. */
export interface TenantRequest {
  route: RouteName;
  authorization: string | undefined;
  userName?: string;
  id?: string;
  team?: string;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

interface UserState {
  userName: string;
  active: boolean;
  sessions: number;
  tokens: number;
  teams: string[];
}

interface UserRecord {
  id: string;
  userName: string;
  /** null once deleted. */
  current: UserState | null;
  /** eventual: what reads show until `until`. */
  shadow?: { before: UserState | null; until: number };
}

const json = (status: number, body: unknown, headers?: Record<string, string>): Reply => ({ status, body, ...(headers ? { headers } : {}) });
const copy = (u: UserState): UserState => ({ ...u, teams: [...u.teams] });
const bump = (counts: Record<string, number>, key: string) => { counts[key] = (counts[key] ?? 0) + 1; };


export class Tenant {
  private token: string | null = null;
  private settings: ModeSettings = { mode: "honest" };
  private records = new Map<string, UserRecord>();
  private byUserName = new Map<string, string>();
  private nextId = 1;
  private flakyCount = 0;
  private random = prng(1);
  private bucket: { tokens: number; at: number } | null = null;
  private window: { from: number; until: number } | null = null;
  private stats = Tenant.emptyStats();

  constructor(readonly name: string) {}

  private static emptyStats() {
    return {
      total: 0,
      byRoute: {} as Partial<Record<RouteName, number>>,
      byStatus: {} as Record<string, number>,
      tooManyRequests: 0,
      retryAfterViolations: 0,
      inFlightAfter429: 0,
      effects: {} as Record<string, number>,
      duplicates: {} as Record<string, number>,
      ignored: {} as Record<string, number>,
      byUser: new Map<string, UserEffects>(),
    };
  }

  /** Seeds users (and the token, when given); answers their ids in seed order. */
  seed(users: readonly SeedUser[], token?: string): { id: string; userName: string }[] {
    if (token !== undefined) this.token = token;
    return users.map((u) => {
      if (typeof u?.userName !== "string" || u.userName === "") throw new ControlError("every user needs a userName");
      const state: UserState = { userName: u.userName, active: u.active ?? true, sessions: u.sessions ?? 2, tokens: u.tokens ?? 1, teams: [...(u.teams ?? [])] };
      let id = this.byUserName.get(u.userName);
      if (id === undefined) {
        id = `u-${this.nextId++}`;
        this.byUserName.set(u.userName, id);
      }
      this.records.set(id, { id, userName: u.userName, current: state });
      return { id, userName: u.userName };
    });
  }

  setMode(settings: ModeSettings): ModeSettings {
    this.settings = settings;
    this.flakyCount = 0;
    this.random = prng(settings.seed ?? 1);
    const limit = this.limitPerSec();
    this.bucket = limit === undefined ? null : { tokens: settings.burst ?? limit, at: Date.now() };
    // a mode change is a clean cut: reads show the truth from now on
    for (const record of this.records.values()) delete record.shadow;
    return this.settings;
  }

  /** Forgets users, token and mode (`all`), or only the counters (`stats`). */
  reset(what: "all" | "stats" = "all"): void {
    this.stats = Tenant.emptyStats();
    this.window = null;
    if (what === "stats") return;
    this.token = null;
    this.records.clear();
    this.byUserName.clear();
    this.nextId = 1;
    this.setMode({ mode: "honest" });
  }

  /** The true current state, whatever the mode shows (control API). */
  truth(userName: string): UserView | null {
    const record = this.recordOf(userName);
    return record?.current ? { id: record.id, ...copy(record.current) } : null;
  }

  get latencyMs(): number { return this.settings.latencyMs ?? 0; }

  handle(request: TenantRequest): Reply {
    const now = Date.now();
    const s = this.stats;
    s.total++;
    bump(s.byRoute as Record<string, number>, request.route);
    this.checkRetryAfter(now);
    const reply = this.gate(request, now) ?? this.serve(request, now);
    bump(s.byStatus, String(reply.status));
    return reply;
  }

  snapshot(): FakeTargetStats {
    const s = this.stats;
    let userCount = 0;
    for (const record of this.records.values()) if (record.current) userCount++;
    return {
      tenant: this.name,
      settings: { ...this.settings },
      userCount,
      requests: { total: s.total, byRoute: { ...s.byRoute }, byStatus: { ...s.byStatus } },
      rateLimit: {
        tooManyRequests: s.tooManyRequests,
        retryAfterViolations: s.retryAfterViolations,
        inFlightAfter429: s.inFlightAfter429,
        window: this.window ? { from: new Date(this.window.from).toISOString(), until: new Date(this.window.until).toISOString() } : null,
      },
      writes: { effects: { ...s.effects }, duplicates: { ...s.duplicates }, ignored: { ...s.ignored } },
      effectsByUser: Object.fromEntries(s.byUser),
    };
  }

  private limitPerSec(): number | undefined {
    return this.settings.limitPerSec ?? (this.settings.mode === "rate-limited" ? 10 : undefined);
  }

  private checkRetryAfter(now: number): void {
    if (!this.window || now >= this.window.until) return;
    if (now < this.window.from + (this.settings.retryAfterGraceMs ?? 50)) this.stats.inFlightAfter429++;
    else this.stats.retryAfterViolations++;
  }

  /** The mode's answer before the request reaches a user, or null to serve it. */
  private gate(request: TenantRequest, now: number): Reply | null {
    const { mode } = this.settings;
    if (mode === "down") return json(503, { error: "target is down" });
    const waitMs = this.takeToken(now);
    if (waitMs !== null) return this.tooManyRequests(now, waitMs);
    if (mode === "auth-broken") return json(401, { error: "authentication is broken" });
    if (this.token === null || request.authorization !== `Bearer ${this.token}`) return json(401, { error: "invalid token" });
    if (mode === "flaky" && !(this.settings.failAfterWrite && isWrite(request.route)) && this.flakes()) return json(503, { error: "flaky" });
    return null;
  }

  /** Takes one token; null when there was one, else the ms until there is. */
  private takeToken(now: number): number | null {
    const limit = this.limitPerSec();
    if (!this.bucket || limit === undefined) return null;
    const burst = this.settings.burst ?? limit;
    this.bucket.tokens = Math.min(burst, this.bucket.tokens + ((now - this.bucket.at) * limit) / 1000);
    this.bucket.at = now;
    if (this.bucket.tokens >= 1) {
      this.bucket.tokens -= 1;
      return null;
    }
    return ((1 - this.bucket.tokens) * 1000) / limit;
  }

  private tooManyRequests(now: number, waitMs: number): Reply {
    const seconds = this.settings.retryAfterSeconds ?? Math.max(1, Math.ceil(waitMs / 1000));
    const until = now + seconds * 1000;
    this.window = this.window && now < this.window.until ? { from: this.window.from, until: Math.max(until, this.window.until) } : { from: now, until };
    this.stats.tooManyRequests++;
    return json(429, { error: "rate limited" }, { "retry-after": String(seconds) });
  }

  private flakes(): boolean {
    this.flakyCount++;
    const { failEvery, failureRate } = this.settings;
    if (failEvery !== undefined) return this.flakyCount % failEvery === 0;
    return this.random() < (failureRate ?? 0.5);
  }

  private serve(request: TenantRequest, now: number): Reply {
    switch (request.route) {
      case "GET /users?userName":
        if (!request.userName) return json(400, { error: "userName is required" });
        return this.read(this.recordOf(request.userName), now);
      case "GET /users/:id":
        return this.read(this.records.get(request.id ?? ""), now);
      case "POST /users/:id/revoke-sessions":
        return this.write(request, now, "revoke-sessions", (u) => {
          const revoked = u.sessions + u.tokens;
          u.sessions = 0;
          u.tokens = 0;
          return { changed: revoked > 0, reply: json(200, { revoked }) };
        });
      case "POST /users/:id/suspend":
        return this.write(request, now, "suspend-user", (u) => {
          const changed = u.active;
          u.active = false;
          return { changed, reply: json(200, { id: request.id, active: false, wasActive: changed }) };
        });
      case "DELETE /users/:id":
        return this.write(request, now, "delete-user", () => ({ changed: true, reply: { status: 204 }, deleted: true }));
      case "DELETE /users/:id/teams/:team": {
        const team = request.team ?? "";
        return this.write(request, now, "remove-from-team", (u) => {
          const at = u.teams.indexOf(team);
          if (at < 0) return { changed: false, reply: json(404, { error: `not a member of ${team}` }) };
          u.teams.splice(at, 1);
          return { changed: true, reply: { status: 204 } };
        });
      }
      default:
        return json(404, { error: "no such route" });
    }
  }

  private recordOf(userName: string): UserRecord | undefined {
    const id = this.byUserName.get(userName);
    return id === undefined ? undefined : this.records.get(id);
  }

  private read(record: UserRecord | undefined, now: number): Reply {
    if (!record || this.settings.mode === "already-gone") return json(404, { error: "no such user" });
    if (record.shadow && now >= record.shadow.until) delete record.shadow;
    const shown = record.shadow ? record.shadow.before : record.current;
    return shown ? json(200, { id: record.id, ...copy(shown) }) : json(404, { error: "no such user" });
  }

  /** Runs one write against the current state, keeping the counters and the eventual shadow. */
  private write(
    request: TenantRequest,
    now: number,
    name: WriteName,
    apply: (u: UserState) => { changed: boolean; reply: Reply; deleted?: boolean },
  ): Reply {
    const record = this.records.get(request.id ?? "");
    const key = name === "remove-from-team" ? `${name}:${request.team ?? ""}` : name;
    const counts = record ? this.userEffects(record) : undefined;
    const { mode } = this.settings;
    if (mode === "already-gone" || mode === "liar") {
      bump(this.stats.ignored, name);
      if (counts) bump(counts.ignored, key);
      if (mode === "already-gone" || !record?.current) return json(404, { error: "no such user" });
      return apply(copy(record.current)).reply; // the liar answers as if, on a copy
    }
    if (!record?.current) {
      bump(this.stats.duplicates, name);
      if (counts) bump(counts.duplicates, key);
      return json(404, { error: "no such user" });
    }
    const before = copy(record.current);
    const outcome = apply(record.current);
    if (outcome.deleted) record.current = null;
    bump(outcome.changed ? this.stats.effects : this.stats.duplicates, name);
    bump(outcome.changed ? counts!.effects : counts!.duplicates, key);
    if (outcome.changed && mode === "eventual") {
      const lagMs = this.settings.lagMs ?? 1000;
      const pending = record.shadow && now < record.shadow.until;
      record.shadow = { before: pending ? record.shadow!.before : before, until: now + lagMs };
    }
    if (mode === "flaky" && this.settings.failAfterWrite && this.flakes()) return json(503, { error: "flaky (the write landed)" });
    return outcome.reply;
  }

  private userEffects(record: UserRecord): UserEffects {
    let entry = this.stats.byUser.get(record.userName);
    if (!entry) this.stats.byUser.set(record.userName, (entry = { id: record.id, effects: {}, duplicates: {}, ignored: {} }));
    return entry;
  }
}

const isWrite = (route: RouteName) => route.startsWith("POST") || route.startsWith("DELETE");
