/**
 * The embedded database's own thread. PGlite is WebAssembly: every query runs on the thread that
 * owns it. Here that is this worker, so SCIM parsing on the main thread and SQL here use both
 * cores. Messages come from pglite-thread-driver.ts; a transaction holds the database from its
 * `begin` to its `commit`/`rollback`, and statements of other callers wait their turn.
 */
import { parentPort, workerData } from "node:worker_threads";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { execWire, type WireResult } from "./pglite-wire.js";

export type Request =
  | { id: number; kind: "query"; text: string; values: unknown[]; txId?: string; begin?: boolean }
  | { id: number; kind: "exec"; text: string; txId?: string; begin?: boolean }
  | { id: number; kind: "begin" | "commit" | "rollback"; txId: string }
  | { id: number; kind: "batch"; statements: { text: string; values: unknown[]; expectOne?: boolean }[]; txId?: string }
  | { id: number; kind: "close" };

export type Reply =
  | { id: number; ok: true; rows?: Record<string, unknown>[]; rowCount?: number; results?: { rows: Record<string, unknown>[]; rowCount: number }[] }
  | { id: number; ok: false; error: { message: string; code?: string; detail?: string; constraint?: string } };

interface Options {
  dataDir?: string;
  loadDataDir?: Uint8Array;
  sharedBuffersMb?: number;
}

const options = workerData as Options;

/**
 * PGlite answers a parametrised query with five protocol round trips inside WebAssembly (parse,
 * describe, bind, describe, execute) and a simple query with one: for the short statements of a
 * SCIM request the simple protocol takes half the time. The values are therefore written into the
 * statement as literals, each quoted by node-postgres' `escapeLiteral` (doubling quotes and
 * backslashes), never concatenated raw; typed placeholders (`$2::uuid[]`) keep their casts.
 */
function literal(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (value instanceof Date) return pg.escapeLiteral(value.toISOString());
  if (Array.isArray(value)) return pg.escapeLiteral(arrayLiteral(value));
  if (typeof value === "object") return pg.escapeLiteral(JSON.stringify(value));
  if (typeof value === "number" && !Number.isFinite(value)) throw new TypeError(`cannot send ${value} to PostgreSQL`);
  return pg.escapeLiteral(String(value));
}

function arrayLiteral(values: readonly unknown[]): string {
  const items = values.map((v) => {
    if (v === null || v === undefined) return "NULL";
    if (Array.isArray(v)) return arrayLiteral(v);
    const text = v instanceof Date ? v.toISOString() : typeof v === "object" ? JSON.stringify(v) : String(v);
    return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
  });
  return `{${items.join(",")}}`;
}

const inline = (text: string, values: readonly unknown[]): string =>
  values.length === 0
    ? text
    : text.replace(/\$(\d+)/g, (_, n: string) => {
        const index = Number(n) - 1;
        if (index < 0 || index >= values.length) throw new RangeError(`statement uses $${n} but has ${values.length} values`);
        return literal(values[index]);
      });

/**
 * Statements run often (a SCIM request has a handful of shapes) are PREPAREd once per session and
 * then EXECUTEd with literal arguments: PostgreSQL keeps their plans, so each call skips parsing
 * and planning. The cache keeps the most recently used statements (PREPARE is session state, not
 * transactional, so a rolled-back transaction leaves a valid entry).
 */
const PREPARED_MAX = 256;
/** What PREPARE accepts (not EXPLAIN, SET, DDL…). */
const PREPARABLE = /^\s*(select|insert|update|delete|with|values)\b/i;
const prepared = new Map<string, string>();
const unpreparable = new Set<string>();
let preparedSerial = 0;

async function statementName(text: string): Promise<string | undefined> {
  const known = prepared.get(text);
  if (known) {
    prepared.delete(text);
    prepared.set(text, known);
    return known;
  }
  if (unpreparable.has(text) || !PREPARABLE.test(text)) return undefined;
  if (prepared.size >= PREPARED_MAX) {
    const [oldest, oldName] = prepared.entries().next().value as [string, string];
    prepared.delete(oldest);
    await execWire(database, `deallocate ${oldName}`);
  }
  const name = `scim_bridge_${++preparedSerial}`;
  try {
    await execWire(database, `prepare ${name} as ${text}`);
  } catch (error) {
    // 42P18: a parameter whose type only its value tells (e.g. in a select list): send it inline.
    if ((error as { code?: string }).code === "42P18") {
      unpreparable.add(text);
      return undefined;
    }
    throw error;
  }
  prepared.set(text, name);
  return name;
}

/** The SQL that runs one statement: EXECUTE of its prepared form, or the statement with literals. */
async function sqlFor(text: string, values: readonly unknown[]): Promise<string> {
  const name = values.length > 0 && !database.closed ? await statementName(text) : undefined;
  return name ? `execute ${name}(${values.map(literal).join(", ")})` : inline(text, values);
}

/** rowCount is the statement's own count (SELECT n, UPDATE n…). */
const counted = (result: WireResult | undefined): { rows: Record<string, unknown>[]; rowCount: number } => ({
  rows: result?.rows ?? [],
  rowCount: result?.rowCount ?? result?.rows.length ?? 0,
});

async function run(text: string, values: readonly unknown[]): Promise<{ rows: Record<string, unknown>[]; rowCount: number }> {
  const results = await execWire(database, await sqlFor(text, values));
  return counted(results[results.length - 1]);
}
const port = parentPort!;
const database = await PGlite.create({
  // A data directory is PGlite's NodeFS: every page write is a write(2) to the real file as the
  // query runs, and its syncToFs is a no-op. Awaiting that no-op after each query costs more than
  // the query itself, so it is not awaited; durability is unchanged (a commit survives a killed
  // process, as scimmy-facts.md §11 measured and test/cli/crash.test.ts checks).
  relaxedDurability: true,
  // PostgreSQL's page cache lives in the WebAssembly heap and is never given back: size it.
  postgresqlconf: [`shared_buffers = ${options.sharedBuffersMb ?? 32}MB`],
  ...(options.dataDir ? { dataDir: options.dataDir } : {}),
  ...(options.loadDataDir ? { loadDataDir: new Blob([options.loadDataDir]) } : {}),
});

/** Who holds the database: a transaction id, or nobody. Waiters queue in order. */
let holder: string | null = null;
const waiting: (() => void)[] = [];
const acquire = (txId: string): Promise<void> =>
  holder === null ? ((holder = txId), Promise.resolve()) : new Promise((resolve) => waiting.push(() => ((holder = txId), resolve())));
const release = (): void => {
  holder = null;
  waiting.shift()?.();
};

async function handle(message: Request): Promise<Reply> {
  const { id } = message;
  switch (message.kind) {
    case "begin":
      await acquire(message.txId);
      await execWire(database, "begin");
      return { id, ok: true };
    case "commit":
    case "rollback":
      try {
        await execWire(database, message.kind);
      } finally {
        release();
      }
      return { id, ok: true };
    case "close":
      await database.close();
      return { id, ok: true };
    case "batch": {
      // Inside a caller's transaction the statements join it; otherwise they are their own. The
      // statements (and their begin) go to PostgreSQL as one script: one call, not one per statement.
      const own = message.txId !== undefined && message.txId === holder;
      if (!own) await acquire(`batch-${id}`);
      try {
        const parts: string[] = [];
        for (const statement of message.statements) parts.push(await sqlFor(statement.text, statement.values));
        let results: WireResult[];
        try {
          results = parts.length === 0 ? [] : (await execWire(database, (own ? "" : "begin;\n") + parts.join(";\n"))).slice(own ? 0 : 1);
        } catch (error) {
          if (!own) await execWire(database, "rollback").catch(() => {});
          throw error;
        }
        const failed = message.statements.findIndex((statement, index) => statement.expectOne && counted(results[index]).rowCount !== 1);
        if (failed >= 0) {
          if (!own) await execWire(database, "rollback");
          throw Object.assign(new Error(`batch statement ${failed + 1} found no row`), { code: "SB001", detail: String(failed) });
        }
        if (!own && parts.length > 0) await execWire(database, "commit");
        return { id, ok: true, results: results.map(counted) };
      } finally {
        if (!own) release();
      }
    }
    default: {
      // The first statement of a transaction carries its begin: one message, not two.
      if (message.begin && message.txId) {
        await acquire(message.txId);
        await execWire(database, "begin");
      }
      // A statement outside any transaction briefly holds the database like a transaction would.
      const own = message.txId !== undefined && message.txId === holder;
      const solo = own ? undefined : `solo-${id}`;
      if (solo) await acquire(solo);
      try {
        if (message.kind === "exec") {
          await execWire(database, message.text);
          return { id, ok: true };
        }
        const result = await run(message.text, message.values);
        return { id, ok: true, rows: result.rows, rowCount: result.rowCount };
      } finally {
        if (solo) release();
      }
    }
  }
}

port.on("message", (message: Request) => {
  handle(message).then(
    (reply) => port.postMessage(reply),
    (error: { message?: string; code?: string; detail?: string; constraint?: string }) =>
      port.postMessage({ id: message.id, ok: false, error: { message: String(error?.message ?? error), code: error?.code, detail: error?.detail, constraint: error?.constraint } } satisfies Reply),
  );
});
port.postMessage({ id: 0, ok: true } satisfies Reply);
