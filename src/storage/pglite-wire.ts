/**
 * Runs SQL on a PGlite instance as one simple-protocol Query message, reading the reply with
 * node-postgres' wire parser (pg-protocol) instead of PGlite's own. PGlite's `exec` parses every
 * reply twice over (its raw callback already parses, then `exec` maps the messages to results),
 * with a parser whose private fields are compiled to WeakMap lookups: for the short statements
 * of a SCIM request that was a third of the database thread's time. Values are still parsed by
 * PGlite's own type parsers (`db.parsers`, array types included), so rows are exactly what
 * `exec` returns: jsonb as objects, timestamps as Dates, int8 as numbers, unknown types as text.
 *
 * Only the database's owner may call this, one call at a time; PGlite's query mutex is not taken
 * (the worker already serialises every statement), and the call runs synchronously inside
 * WebAssembly until PostgreSQL is ready for the next query.
 */
import type { PGlite } from "@electric-sql/pglite";
import { serialize } from "pg-protocol";
import type { BackendMessage, CommandCompleteMessage, DataRowMessage, DatabaseError, RowDescriptionMessage } from "pg-protocol/dist/messages.js";
import { Parser } from "pg-protocol/dist/parser.js";

/** One statement's outcome, as PGlite's `exec` reports it. */
export interface WireResult {
  rows: Record<string, unknown>[];
  /** The count in the statement's command tag (`SELECT 3`, `UPDATE 1`); absent for `BEGIN` and the like. */
  rowCount?: number;
}

type Parse = (value: string, typeId: number) => unknown;

/** The statements' results in order; throws the first error PostgreSQL reported (it runs none after it). */
export async function execWire(database: PGlite, sql: string): Promise<WireResult[]> {
  if (database.closed) throw new Error("the embedded database is closed");
  const parsers = (database as unknown as { parsers: Record<number, Parse | undefined> }).parsers;
  const results: WireResult[] = [];
  let columns: { name: string; typeId: number; parse: Parse | undefined }[] = [];
  let rows: Record<string, unknown>[] = [];
  let failure: DatabaseError | undefined;
  const parser = new Parser();
  const onMessage = (message: BackendMessage): void => {
    switch (message.name) {
      case "rowDescription":
        columns = (message as RowDescriptionMessage).fields.map((field) => ({ name: field.name, typeId: field.dataTypeID, parse: parsers[field.dataTypeID] }));
        break;
      case "dataRow": {
        const values = (message as DataRowMessage).fields;
        const row: Record<string, unknown> = {};
        for (let i = 0; i < columns.length; i++) {
          const column = columns[i]!;
          const value = values[i];
          row[column.name] = value === null || value === undefined ? null : column.parse ? column.parse(value, column.typeId) : value;
        }
        rows.push(row);
        break;
      }
      case "commandComplete": {
        const tag = (message as CommandCompleteMessage).text;
        const count = Number.parseInt(tag.slice(tag.lastIndexOf(" ") + 1), 10);
        results.push({ rows, ...(Number.isNaN(count) ? {} : { rowCount: count }) });
        rows = [];
        columns = [];
        break;
      }
      case "error":
        failure ??= message as DatabaseError;
        break;
    }
  };
  await database.execProtocolRawStream(serialize.query(sql), {
    // The bytes are a view into PostgreSQL's heap, reused by the next write: copy before parsing.
    onRawData: (bytes: Uint8Array) => parser.parse(Buffer.from(bytes), onMessage),
  });
  if (failure) throw failure;
  return results;
}
