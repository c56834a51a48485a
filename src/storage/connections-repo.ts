import { randomUUID } from "node:crypto";
import type { Db } from "./db.js";

/** A connection: one IdP integration, the tenant every SCIM resource and credential belongs to. */
export interface Connection {
  id: string;
  name: string;
  createdAt: Date;
}

interface ConnectionRow {
  [key: string]: unknown;
  id: string;
  name: string;
  created_at: Date;
}

const toConnection = (row: ConnectionRow): Connection => ({ id: row.id, name: row.name, createdAt: row.created_at });

export const CONNECTION_NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

export async function createConnection(db: Db, name: string): Promise<Connection> {
  const result = await db.query<ConnectionRow>(
    "insert into connections (id, name) values ($1, $2) returning id, name, created_at",
    [randomUUID(), name],
  );
  return toConnection(result.rows[0]!);
}

export async function listConnections(db: Db): Promise<Connection[]> {
  const result = await db.query<ConnectionRow>("select id, name, created_at from connections order by name");
  return result.rows.map(toConnection);
}

/** By id or by name: the CLI and admin API accept either. */
export async function findConnection(db: Db, idOrName: string): Promise<Connection | null> {
  const result = await db.query<ConnectionRow>(
    "select id, name, created_at from connections where name = $1 or id::text = $1",
    [idOrName],
  );
  return result.rows[0] ? toConnection(result.rows[0]) : null;
}
