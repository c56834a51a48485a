/**
 * Seeds a fresh bridge data directory for `npm run bench:scim`, straight through storage: one
 * connection ("bench"), one bearer credential, and `users` SCIM Users written the way
 * `src/storage/users-repo.ts` writes them (indexed columns beside the `resource` jsonb).
 * Going through SCIM would take minutes for 100k users and is not what is being measured.
 *
 * Embedded PGlite belongs to one process: the database is closed before this resolves, so the
 * bridge can open the same directory afterwards.
 */
import { randomUUID } from "node:crypto";
import { createConnection } from "../src/storage/connections-repo.js";
import type { Db } from "../src/storage/db.js";
import { migrate } from "../src/storage/migrate.js";
import { openPglite } from "../src/storage/pglite-driver.js";
import { hashSecret, newSecret } from "../src/secrets.js";
import { seedUser } from "./seed-users.js";

/** Users per multi-row INSERT (Default: 5000). */
const BATCH_USERS = 5_000;
/** How often progress is reported, in users. */
const PROGRESS_EVERY_USERS = 20_000;

export interface SeededBridge {
  connectionId: string;
  /** A `scb_` bearer token of the connection; only its SHA-256 digest is stored. */
  token: string;
  /** The seeded users' ids, in seed order. */
  ids: string[];
}

export async function seedBridge(dataDir: string, users: number, progress: (line: string) => void): Promise<SeededBridge> {
  const db = await openPglite({ dataDir });
  try {
    await migrate(db);
    const connection = await createConnection(db, "bench");
    const token = newSecret("scb");
    await db.query("insert into credentials (id, connection_id, kind, secret_hash) values ($1, $2, 'bearer', $3)", [
      randomUUID(),
      connection.id,
      hashSecret(token),
    ]);
    const started = performance.now();
    const ids: string[] = [];
    for (let first = 1; first <= users; first += BATCH_USERS) {
      const last = Math.min(first + BATCH_USERS - 1, users);
      ids.push(...(await insertUsers(db, connection.id, first, last)));
      if (Math.floor(last / PROGRESS_EVERY_USERS) > Math.floor((first - 1) / PROGRESS_EVERY_USERS) || last === users) {
        progress(`seeded ${last} of ${users} bridge users (${((performance.now() - started) / 1000).toFixed(1)} s)`);
      }
    }
    return { connectionId: connection.id, token, ids };
  } finally {
    await db.close();
  }
}

/** Users `first`…`last` in one statement: one array parameter per column, zipped by unnest. */
async function insertUsers(db: Db, connectionId: string, first: number, last: number): Promise<string[]> {
  const ids: string[] = [];
  const userNames: string[] = [];
  const displayNames: string[] = [];
  const emails: string[] = [];
  const resources: string[] = [];
  for (let n = first; n <= last; n++) {
    const user = seedUser(n);
    ids.push(randomUUID());
    userNames.push(user.userName);
    displayNames.push(user.displayName);
    emails.push(user.emails[0]!.value.toLowerCase());
    resources.push(JSON.stringify(user));
  }
  await db.query(
    `insert into scim_users (connection_id, id, user_name, active, display_name, emails, resource, version)
     select $1, u.id, u.user_name, true, u.display_name, array[u.email], u.resource::jsonb, 1
     from unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[]) as u(id, user_name, display_name, email, resource)`,
    [connectionId, ids, userNames, displayNames, emails, resources],
  );
  return ids;
}
