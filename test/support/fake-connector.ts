/**
 * An in-process fake connector for engine specifications: accounts in memory, time from the
 * injected clock (never timers), the same modes as the fake HTTP target (`fake-target/`), every
 * call recorded, and a mode a test can switch at any moment.
 *
 *   const { connector, state } = fakeConnector({ clock, accounts: [{ userName: "alice", teams: ["eng"] }] });
 *   state.setMode({ mode: "flaky", failures: [true, false] });
 *
 * Words as in `fake-target/tenant.ts`: a step has an *effect* when it changed state, is a
 * *duplicate* when it reached the account and changed nothing, and is *ignored* when the mode
 * swallowed it (`liar`, `already-gone`).
 */
import { TargetError, type Account, type Connector, type Probe, type RevokeStep, type TargetContext, type TargetErrorKind } from "../../src/connector-kit.js";
import type { Clock } from "../../src/engine/clock.js";

export const FAKE_MODES = ["honest", "eventual", "liar", "flaky", "rate-limited", "down", "auth-broken", "already-gone"] as const;
export type FakeMode = (typeof FAKE_MODES)[number];

export interface FakeModeSettings {
  mode: FakeMode;
  /** eventual: how long (clock time) reads show the state from before a write (Default: 1000). */
  lagMs?: number;
  /** flaky: cycled over the calls since the mode change; `true` → that call throws "retryable" (503). */
  failures?: readonly boolean[];
  /** flaky: every Nth call fails (Default: 2, when `failures` is absent). */
  failEvery?: number;
  /** flaky: a failing step lands its effect before it throws, like a response lost on the way back (Default: false). */
  failAfterWrite?: boolean;
  /** Any mode: a token bucket on the clock; over it → "rate-limited" (Default: none; `rate-limited` alone refuses every call). */
  limitPerSec?: number;
  /** The bucket's size (Default: limitPerSec). */
  burst?: number;
  /** The retryAfterMs announced (Default: until the next token, or 1000 when every call is refused). */
  retryAfterMs?: number;
}

export interface FakeAccountSeed {
  userName: string;
  /** Default: true. */
  active?: boolean;
  /** Default: 2. */
  sessions?: number;
  teams?: string[];
}

export interface FakeAccount {
  id: string;
  userName: string;
  active: boolean;
  sessions: number;
  teams: string[];
}

export type FakeCallOutcome = "pending" | "ok" | "found" | "not-found" | "done" | "already-done" | "revoked" | "not-revoked" | TargetErrorKind | "error";

/** One call the engine made. `op` is "validate", "findAccount", "verify" or a step name. */
export interface FakeCall {
  at: Date;
  op: string;
  userName?: string;
  accountId?: string;
  outcome: FakeCallOutcome;
  /** Steps only: whether it changed state. */
  effect?: boolean;
}

/** Per account, keyed by step name (team removals as `remove-from-team:<team>`). */
export interface FakeUserEffects {
  effects: Record<string, number>;
  duplicates: Record<string, number>;
  ignored: Record<string, number>;
}

export interface FakeConnectorOptions {
  clock: Clock;
  accounts?: readonly FakeAccountSeed[];
  /** Default: honest. */
  mode?: FakeModeSettings | FakeMode;
  /** Adds "sign-out-everywhere" (observable: false) to the deactivate plan, after revoke-sessions. */
  unobservableStep?: boolean;
  /** Runs at the start of every call, before the mode: throw or block in it to stage a crash mid-plan. */
  onCall?: (call: FakeCall) => void | Promise<void>;
}

export interface FakeConnectorState {
  /** The truth by userName, whatever the mode shows. */
  readonly accounts: Map<string, FakeAccount>;
  readonly calls: FakeCall[];
  /** By userName; only accounts that received a step. */
  readonly effects: Map<string, FakeUserEffects>;
  readonly settings: FakeModeSettings;
  /** Calls refused with "rate-limited". */
  readonly rateLimited: number;
  /** Calls made after a "rate-limited" error and before the moment its retryAfterMs announced. */
  readonly retryAfterViolations: number;
  setMode(mode: FakeModeSettings | FakeMode): void;
  /** Adds accounts, or resets existing ones (same id) to the seed. */
  seed(accounts: readonly FakeAccountSeed[]): FakeAccount[];
  callsTo(op: string): FakeCall[];
}

const copy = (a: FakeAccount): FakeAccount => ({ ...a, teams: [...a.teams] });
const bump = (counts: Record<string, number>, key: string) => { counts[key] = (counts[key] ?? 0) + 1; };
const fail = (kind: TargetErrorKind, message: string, detail: { status: number; retryAfterMs?: number }) => new TargetError(kind, message, detail);

class FakeState implements FakeConnectorState {
  readonly accounts = new Map<string, FakeAccount>();
  readonly calls: FakeCall[] = [];
  readonly effects = new Map<string, FakeUserEffects>();
  settings: FakeModeSettings = { mode: "honest" };
  rateLimited = 0;
  retryAfterViolations = 0;
  private byId = new Map<string, string>();
  private idOf = new Map<string, string>();
  private nextId = 1;
  private shadows = new Map<string, { before: FakeAccount | null; until: number }>();
  private signedOut = new Set<string>();
  private flakyCount = 0;
  private bucket: { tokens: number; at: number } | null = null;
  private blockedUntil = -Infinity;

  constructor(private clock: Clock, private onCall?: (call: FakeCall) => void | Promise<void>) {}

  setMode(mode: FakeModeSettings | FakeMode): void {
    this.settings = typeof mode === "string" ? { mode } : { ...mode };
    this.flakyCount = 0;
    const limit = this.settings.limitPerSec;
    this.bucket = limit === undefined ? null : { tokens: this.settings.burst ?? limit, at: this.clock.now().getTime() };
    this.shadows.clear(); // a mode change is a clean cut: reads show the truth from now on
  }

  seed(accounts: readonly FakeAccountSeed[]): FakeAccount[] {
    return accounts.map((seed) => {
      const id = this.idOf.get(seed.userName) ?? `a-${this.nextId++}`;
      const account = { id, userName: seed.userName, active: seed.active ?? true, sessions: seed.sessions ?? 2, teams: [...(seed.teams ?? [])] };
      this.accounts.set(seed.userName, account);
      this.byId.set(id, seed.userName);
      this.idOf.set(seed.userName, id);
      this.shadows.delete(seed.userName);
      this.signedOut.delete(seed.userName);
      return copy(account);
    });
  }

  callsTo(op: string): FakeCall[] {
    return this.calls.filter((c) => c.op === op);
  }

  /** Records the call, runs the hook and the mode's gate, then `body`; keeps the outcome on the record. */
  async invoke<T>(op: string, who: { userName?: string; accountId?: string }, isStep: boolean, body: (call: FakeCall) => T): Promise<T> {
    const call: FakeCall = { at: this.clock.now(), op, ...who, outcome: "pending" };
    this.calls.push(call);
    try {
      await this.onCall?.(call);
      this.gate(call.at.getTime(), isStep);
      return body(call);
    } catch (error) {
      call.outcome = error instanceof TargetError ? error.kind : "error";
      throw error;
    }
  }

  private gate(now: number, isStep: boolean): void {
    if (now < this.blockedUntil) this.retryAfterViolations++;
    const { mode } = this.settings;
    if (mode === "down") throw fail("retryable", "fake target is down", { status: 503 });
    const retryAfterMs = this.takeToken(now);
    if (retryAfterMs !== null) {
      this.rateLimited++;
      this.blockedUntil = Math.max(this.blockedUntil, now + retryAfterMs);
      throw fail("rate-limited", `fake target rate limited; retry after ${retryAfterMs} ms`, { status: 429, retryAfterMs });
    }
    if (mode === "auth-broken") throw fail("auth", "fake target refuses the credentials", { status: 401 });
    if (mode === "flaky" && !(this.settings.failAfterWrite && isStep) && this.flakes()) throw fail("retryable", "fake target flaked", { status: 503 });
  }

  /** Null when the call may go ahead, else the retryAfterMs to announce. */
  private takeToken(now: number): number | null {
    const { limitPerSec: limit, retryAfterMs, mode } = this.settings;
    if (!this.bucket || limit === undefined) return mode === "rate-limited" ? retryAfterMs ?? 1000 : null;
    const burst = this.settings.burst ?? limit;
    this.bucket.tokens = Math.min(burst, this.bucket.tokens + ((now - this.bucket.at) * limit) / 1000);
    this.bucket.at = now;
    if (this.bucket.tokens >= 1) {
      this.bucket.tokens -= 1;
      return null;
    }
    return retryAfterMs ?? Math.ceil(((1 - this.bucket.tokens) * 1000) / limit);
  }

  flakes(): boolean {
    const n = this.flakyCount++;
    const { failures, failEvery } = this.settings;
    if (failures && failures.length > 0) return failures[n % failures.length] === true;
    return (n + 1) % (failEvery ?? 2) === 0;
  }

  /** What a read shows: the shadow while an eventual write is settling, else the truth. */
  view(userName: string): FakeAccount | null {
    if (this.settings.mode === "already-gone") return null;
    const shadow = this.shadows.get(userName);
    if (shadow && this.clock.now().getTime() < shadow.until) return shadow.before && copy(shadow.before);
    if (shadow) this.shadows.delete(userName);
    const account = this.accounts.get(userName);
    return account ? copy(account) : null;
  }

  userNameOf(accountId: string): string | undefined {
    return this.byId.get(accountId);
  }

  /** Runs one step against the truth, keeping the counters and the eventual shadow. */
  step(call: FakeCall, key: string, apply: (a: FakeAccount) => { changed: boolean; deleted?: boolean }): "done" | "already-done" {
    const userName = call.userName;
    const counts = userName === undefined ? undefined : this.effectsOf(userName);
    const { mode } = this.settings;
    const account = userName === undefined ? undefined : this.accounts.get(userName);
    let outcome: "done" | "already-done";
    if (mode === "liar" || mode === "already-gone") {
      if (counts) bump(counts.ignored, key);
      outcome = mode === "liar" && account ? "done" : "already-done";
      call.effect = false;
    } else if (!account || !userName) {
      if (counts) bump(counts.duplicates, key);
      outcome = "already-done";
      call.effect = false;
    } else {
      const before = copy(account);
      const { changed, deleted } = apply(account);
      if (deleted) this.accounts.delete(userName);
      bump(changed ? counts!.effects : counts!.duplicates, key);
      if (changed && mode === "eventual") {
        const now = this.clock.now().getTime();
        const pending = this.shadows.get(userName);
        const keep = pending && now < pending.until ? pending.before : before;
        this.shadows.set(userName, { before: keep, until: now + (this.settings.lagMs ?? 1000) });
      }
      call.effect = changed;
      outcome = changed ? "done" : "already-done";
    }
    call.outcome = outcome;
    if (mode === "flaky" && this.settings.failAfterWrite && this.flakes()) throw fail("retryable", "fake target flaked (the step landed)", { status: 503 });
    return outcome;
  }

  signOut(userName: string): boolean {
    if (this.signedOut.has(userName)) return false;
    this.signedOut.add(userName);
    return true;
  }

  private effectsOf(userName: string): FakeUserEffects {
    let entry = this.effects.get(userName);
    if (!entry) this.effects.set(userName, (entry = { effects: {}, duplicates: {}, ignored: {} }));
    return entry;
  }
}

/** A fake connector (id "fake") and the state a test inspects and steers. */
export function fakeConnector(options: FakeConnectorOptions): { connector: Connector; state: FakeConnectorState } {
  const state = new FakeState(options.clock, options.onCall);
  state.seed(options.accounts ?? []);
  if (options.mode) state.setMode(options.mode);

  const who = (account: Account) => {
    const userName = state.userNameOf(account.id);
    return userName === undefined ? { accountId: account.id } : { accountId: account.id, userName };
  };
  const step = (name: string, apply: (a: FakeAccount, ctx: TargetContext) => { changed: boolean; deleted?: boolean }, observable = true): RevokeStep => ({
    name,
    ...(observable ? {} : { observable: false as const }),
    run: (account, ctx) => {
      const key = name === "remove-from-team" ? `${name}:${entitlementOf(ctx)}` : name;
      return state.invoke(name, who(account), true, (call) => state.step(call, key, (a) => apply(a, ctx)));
    },
  });

  const revokeSessions = step("revoke-sessions", (a) => {
    const changed = a.sessions > 0;
    a.sessions = 0;
    return { changed };
  });
  const signOutEverywhere = step("sign-out-everywhere", (a) => ({ changed: state.signOut(a.userName) }), false);
  const suspendUser = step("suspend-user", (a) => {
    const changed = a.active;
    a.active = false;
    return { changed };
  });
  const deleteUser = step("delete-user", () => ({ changed: true, deleted: true }));
  const removeFromTeam = step("remove-from-team", (a, ctx) => {
    const at = a.teams.indexOf(entitlementOf(ctx));
    if (at >= 0) a.teams.splice(at, 1);
    return { changed: at >= 0 };
  });

  const connector = {
    id: "fake",
    configFields: [],
    validate: (_ctx) => state.invoke("validate", {}, false, (call) => { call.outcome = "ok"; }),
    findAccount: (subject, _ctx) =>
      state.invoke("findAccount", { userName: subject.userName }, false, (call) => {
        const account = state.view(subject.userName);
        call.outcome = account ? "found" : "not-found";
        if (account) call.accountId = account.id;
        return account ? { id: account.id, data: { userName: account.userName } } : null;
      }),
    plans: {
      deactivate: options.unobservableStep ? [revokeSessions, signOutEverywhere, suspendUser] : [revokeSessions, suspendUser],
      delete: [revokeSessions, deleteUser],
      "revoke-entitlement": [removeFromTeam],
    },
    verify: (account, ctx) =>
      state.invoke("verify", who(account), false, (call): Probe => {
        const userName = state.userNameOf(account.id);
        const shown = userName === undefined ? null : state.view(userName);
        const probe = judge(account.id, shown, ctx);
        call.outcome = probe.revoked ? "revoked" : "not-revoked";
        return probe;
      }),
  } satisfies Connector;
  return { connector, state };
}

function entitlementOf(ctx: TargetContext): string {
  if (ctx.intent.kind !== "revoke-entitlement") throw new Error(`remove-from-team runs for revoke-entitlement, not ${ctx.intent.kind}`);
  return ctx.intent.entitlement;
}

/** What `verify` concludes from what a read shows, for the task's intent. */
function judge(id: string, shown: FakeAccount | null, ctx: TargetContext): Probe {
  const what = `account ${id}`;
  if (!shown) return { revoked: true, evidence: `${what} → not found` };
  const intent = ctx.intent;
  if (intent.kind === "delete") return { revoked: false, evidence: `${what} → still exists (active=${shown.active})` };
  if (intent.kind === "revoke-entitlement") {
    const teams = `teams=[${shown.teams.join(", ")}]`;
    return shown.teams.includes(intent.entitlement)
      ? { revoked: false, evidence: `${what} → ${teams} (still in ${intent.entitlement})` }
      : { revoked: true, evidence: `${what} → ${teams} (not in ${intent.entitlement})` };
  }
  return { revoked: !shown.active && shown.sessions === 0, evidence: `${what} → active=${shown.active}, sessions=${shown.sessions}` };
}
