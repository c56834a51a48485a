/**
 * One bound LDAP connection per connector call: connect (TLS or StartTLS), bind as the service
 * account, run, and always unbind, so no socket outlives the call. Every operation has the
 * config's timeout; the engine's shutdown signal closes the connection at once.
 */
import { Attribute, Change, Client, type Entry, type SearchOptions } from "ldapts";
import { TargetError, type TargetContext } from "../../src/connector-kit.js";
import { settingsOf, type LdapConfig, type Settings } from "./config.js";
import { LDAP, ldapError, resultCodeOf } from "./errors.js";

export type Modification = { operation: "add" | "delete" | "replace"; attribute: string; values: string[] };

/** The operations the connector uses; failures are TargetErrors saying what was attempted. */
export interface Ldap {
  readonly settings: Settings;
  /** Entries matching; `noSuchObject` on the base is a permanent failure (a base DN that is wrong). */
  search(base: string, options: SearchOptions): Promise<Entry[]>;
  /** Like search, but null when the base entry does not exist (observed absence). */
  find(base: string, options: SearchOptions): Promise<Entry[] | null>;
  /** The entry with the attributes asked for, or null when there is no such entry (observed absence). */
  read(dn: string, attributes: string[]): Promise<Entry | null>;
  /** Runs the modify; resolves to 0, or to the result code when it is one of `tolerated`. */
  modify(dn: string, changes: Modification[], tolerated?: readonly number[]): Promise<number>;
  /** Deletes the entry; resolves to 0, or to the result code when it is one of `tolerated`. */
  del(dn: string, tolerated?: readonly number[]): Promise<number>;
}

type Ctx = TargetContext<LdapConfig>;

const quoted = (dn: string) => JSON.stringify(dn);
const searchWhat = (base: string, options: SearchOptions) =>
  `search ${options.scope ?? "sub"} ${quoted(base)} ${typeof options.filter === "string" ? options.filter : ""}`.trimEnd();

/** Runs `fn` with a connection bound as the config's service account, closed afterwards whatever happens. */
export async function withLdap<T>(ctx: Ctx, fn: (ldap: Ldap) => Promise<T>): Promise<T> {
  const settings = settingsOf(ctx.config);
  if (ctx.signal.aborted) throw new TargetError("retryable", "not connecting to the directory: the bridge is shutting down");
  await ctx.throttle?.(); // policy.maxRequestsPerSec: one connection per call
  const secure = settings.url.startsWith("ldaps:");
  const client = new Client({
    url: settings.url,
    timeout: settings.timeoutMs,
    connectTimeout: settings.timeoutMs,
    ...(secure ? { tlsOptions: settings.tls } : {}),
  });
  const close = () => client.unbind().catch((error: unknown) => ctx.log.debug(`Closing the LDAP connection to ${settings.url} failed: ${(error as Error).message}`));
  const onAbort = () => void close();
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  const failed = (what: string, error: unknown): TargetError =>
    ctx.signal.aborted ? new TargetError("retryable", `${what}: cut short, the bridge is shutting down`, { cause: error }) : ldapError(error, what);
  const call = async <R>(what: string, op: () => Promise<R>): Promise<R> => {
    try {
      return await op();
    } catch (error) {
      throw failed(what, error);
    }
  };
  /** Runs `op`; 0 when it succeeds, the result code when it is one the caller expects (e.g. noSuchObject). */
  const tolerating = async (what: string, tolerated: readonly number[], op: () => Promise<void>): Promise<number> => {
    try {
      await op();
      return 0;
    } catch (error) {
      const code = resultCodeOf(error);
      if (code !== undefined && tolerated.includes(code)) return code;
      throw failed(what, error);
    }
  };
  const timeLimit = Math.ceil(settings.timeoutMs / 1000);

  const ldap: Ldap = {
    settings,
    search: (base, options) => call(searchWhat(base, options), async () => (await client.search(base, { timeLimit, ...options })).searchEntries),
    async find(base, options) {
      let entries: Entry[] = [];
      const code = await tolerating(searchWhat(base, options), [LDAP.noSuchObject], async () => {
        entries = (await client.search(base, { timeLimit, ...options })).searchEntries;
      });
      return code === 0 ? entries : null;
    },
    async read(dn, attributes) {
      const entries = await ldap.find(dn, { scope: "base", filter: "(objectClass=*)", attributes });
      return entries ? (entries[0] ?? null) : null;
    },
    modify: (dn, changes, tolerated = []) =>
      tolerating(`modify ${quoted(dn)} (${changes.map((c) => `${c.operation} ${c.attribute}`).join(", ")})`, tolerated, () =>
        client.modify(dn, changes.map((c) => new Change({ operation: c.operation, modification: new Attribute({ type: c.attribute, values: c.values }) })))),
    del: (dn, tolerated = []) => tolerating(`delete ${quoted(dn)}`, tolerated, () => client.del(dn)),
  };

  try {
    if (settings.starttls) await call(`StartTLS with ${settings.url}`, () => client.startTLS(settings.tls));
    // The password never appears in a message: ldapts' errors carry the server's diagnostic only.
    await call(`bind as ${quoted(settings.bindDn)} to ${settings.url}`, () => client.bind(settings.bindDn, settings.bindPassword));
    return await fn(ldap);
  } finally {
    ctx.signal.removeEventListener("abort", onAbort);
    await close();
  }
}

/** The first value of an attribute in an entry, as a string (attribute names compared case-insensitively). */
export function firstValue(entry: Entry, attribute: string): string | undefined {
  return values(entry, attribute)[0];
}

/** Every value of an attribute in an entry, as strings. */
export function values(entry: Entry, attribute: string): string[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  if (key === undefined || key === "dn") return [];
  const v = entry[key]!;
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => (Buffer.isBuffer(x) ? x.toString("utf8") : String(x)));
}
