/**
 * The baseline of `npm run bench:scim`: a SCIM server built from SCIMMY + scimmy-routers alone, on
 * express 5, over an in-memory store. It is a fair, fast peer, not a strawman: lookups by id and by
 * lower-cased userName are Map hits, and filters are matched with SCIMMY's own `Filter#match`, which
 * is what a scimmy-only server does. PATCH goes through scimmy-routers (read → apply → ingress).
 *
 * Run as its own process: `node dist/bench/baseline-server.js` (env SEED_USERS, Default: 100000;
 * IDS_FILE, if set, receives the seeded users' ids, one per line, before the server is ready).
 * When ready it prints one JSON line: {"ready":true,"url":"http://127.0.0.1:PORT/scim/v2","token":"…"}.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import express from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";
import { seedUser, seedUserCount } from "./seed-users.js";

/** Attributes as SCIMMY's "in" schema gives them, without `schemas`, `id` and `meta`. */
type Attributes = Record<string, unknown> & { userName: string };
type StoredUser = Attributes & { id: string; meta: { created: Date; lastModified: Date } };

// SCIMMY types scimType as a string; "" means none (its ErrorResponse omits a falsy scimType).
const notFound = (id: string) => new SCIMMY.Types.Error(404, "", `Resource ${id} not found`);

/** Users by id, plus an index by lower-cased userName (RFC 7643 §4.1: unique, case-insensitive). */
class UserStore {
  private readonly byId = new Map<string, StoredUser>();
  private readonly idByUserName = new Map<string, string>();

  get size(): number {
    return this.byId.size;
  }

  all(): StoredUser[] {
    return Array.from(this.byId.values());
  }

  get(id: string): StoredUser {
    const user = this.byId.get(id);
    if (!user) throw notFound(id);
    return user;
  }

  /** Creates (no id) or replaces (id) a user; a userName held by another user is a 409. */
  save(attributes: Attributes, id?: string): StoredUser {
    const previous = id === undefined ? undefined : this.get(id);
    const key = attributes.userName.toLowerCase();
    const holder = this.idByUserName.get(key);
    if (holder !== undefined && holder !== id) {
      throw new SCIMMY.Types.Error(409, "uniqueness", `userName ${attributes.userName} is already in use`);
    }
    const now = new Date();
    const user: StoredUser = { ...attributes, id: id ?? randomUUID(), meta: { created: previous?.meta.created ?? now, lastModified: now } };
    if (previous) this.idByUserName.delete(previous.userName.toLowerCase());
    this.idByUserName.set(key, user.id);
    this.byId.set(user.id, user);
    return user;
  }

  remove(id: string): void {
    const user = this.get(id);
    this.idByUserName.delete(user.userName.toLowerCase());
    this.byId.delete(id);
  }
}

/** What a store keeps of an ingressed instance: its JSON, less what the server owns. */
function toAttributes(instance: SCIMMY.Schemas.User): Attributes {
  const { schemas: _schemas, id: _id, meta: _meta, ...attributes } = JSON.parse(JSON.stringify(instance)) as Attributes;
  return attributes;
}

function declareUsers(store: UserStore): void {
  SCIMMY.Resources.declare(
    SCIMMY.Resources.User.ingress((resource, instance) => store.save(toAttributes(instance), resource.id))
      .egress((resource) => {
        if (resource.id !== undefined) return store.get(resource.id);
        const users = store.all();
        if (resource.filter) return resource.filter.match(users);
        // ListResponse slices from startIndex again unless totalResults says the page already starts
        // there (scimmy-facts.md §3), so hand it the prefix up to the page's end and the true total.
        const { startIndex = 1, count = 20 } = resource.constraints ?? {};
        resource.constraints = Object.assign(resource.constraints ?? {}, { totalResults: users.length });
        return users.slice(0, startIndex - 1 + count);
      })
      .degress((resource) => store.remove(resource.id ?? "")),
  );
}

function createApp(token: string): express.Express {
  const app = express();
  // Express 5 parses req.query afresh on every read, so scimmy-routers' cast of startIndex and
  // count to numbers would be lost and SCIMMY would ignore paging. Pin one parsed copy.
  app.use((req, _res, next) => {
    Object.defineProperty(req, "query", { value: { ...req.query }, writable: true, enumerable: true });
    next();
  });
  app.use(
    "/scim/v2",
    new SCIMMYRouters({
      type: "bearer",
      handler: (req) => {
        if (req.headers.authorization !== `Bearer ${token}`) throw new Error("invalid bearer token");
        return "bench";
      },
    }),
  );
  return app;
}

function main(): void {
  const store = new UserStore();
  const count = seedUserCount(process.env);
  const ids: string[] = [];
  for (let n = 1; n <= count; n++) ids.push(store.save(seedUser(n)).id);
  // Listing 100,000 users a page at a time through SCIMMY would take this server many minutes.
  if (process.env.IDS_FILE) writeFileSync(process.env.IDS_FILE, ids.join("\n"));
  declareUsers(store);

  const token = randomBytes(32).toString("base64url");
  const server = createApp(token).listen(0, "127.0.0.1", (error?: Error) => {
    if (error) throw error;
    const { port } = server.address() as AddressInfo;
    process.stdout.write(JSON.stringify({ ready: true, url: `http://127.0.0.1:${port}/scim/v2`, token, users: store.size }) + "\n");
  });
  process.on("SIGTERM", () => server.close(() => process.exit(0)));
}

main();
