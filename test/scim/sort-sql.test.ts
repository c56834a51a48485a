import { randomUUID } from "node:crypto";
import SCIMMY from "scimmy";
import { declareSchemas, ENTERPRISE_USER as ENT } from "../../src/scim/declare.js";
import { groupOrderSql, SqlParams, userFilterSql, userOrderSql } from "../../src/scim/filter-sql.js";
import type { Db } from "../../src/storage/db.js";
import { testDb } from "../support/test-db.js";
import { scimErrorOf } from "../support/scim-error-of.js";

// Users are listed in creation order; each case names the order it expects by key.
type Body = Record<string, unknown>;
const USERS: [key: string, created: string, body: Body][] = [
  ["u1", "2024-01-01T00:00:00Z", { userName: "bravo", displayName: "beta", title: "Zed",
    emails: [{ value: "z@x.com", type: "work" }, { value: "a@x.com", type: "home", primary: true }], [ENT]: { employeeNumber: "9" } }],
  ["u2", "2024-02-01T00:00:00Z", { userName: "Alpha", displayName: "Alpha", emails: [{ value: "m@x.com" }] }],
  ["u3", "2024-03-01T00:00:00Z", { userName: "charlie", displayName: "alpha", title: "", externalId: "b", active: false }],
  ["u4", "2024-04-01T00:00:00Z", { userName: "delta", title: "ant", externalId: "B",
    emails: [{ value: "B@x.com", type: "work" }, { value: "c@x.com" }] }],
  ["u5", "2024-05-01T00:00:00Z", { userName: "Echo", title: "Zed", externalId: "a", [ENT]: { employeeNumber: "10" } }],
];
const GROUPS: [key: string, created: string, displayName: string][] = [
  ["beta", "2024-01-01T00:00:00Z", "beta"],
  ["Alpha", "2024-02-01T00:00:00Z", "Alpha"],
  ["gamma", "2024-03-01T00:00:00Z", "gamma"],
];

const A = randomUUID();
const B = randomUUID();
const ids = new Map<string, string>([...USERS, ...GROUPS].map(([key]) => [key, randomUUID()]));
const keys = new Map([...ids].map(([key, id]) => [id, key]));
const id = (key: string): string => ids.get(key) ?? "";

function stored(instance: object): Body {
  const { schemas: _s, id: _i, meta: _m, ...rest } = JSON.parse(JSON.stringify(instance)) as Body;
  return rest;
}

async function load(db: Db): Promise<void> {
  declareSchemas();
  await db.query("insert into connections (id, name) values ($1, 'sort-a'), ($2, 'sort-b')", [A, B]);
  for (const [key, created, body] of USERS) {
    const resource = stored(new SCIMMY.Schemas.User({ schemas: [SCIMMY.Schemas.User.definition.id], ...body }, "in"));
    const emails = ((resource.emails ?? []) as { value: string }[]).map((e) => e.value.toLowerCase());
    await db.query(
      `insert into scim_users (connection_id, id, user_name, external_id, active, display_name, emails, resource, created_at, updated_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)`,
      [A, id(key), resource.userName, resource.externalId ?? null, resource.active !== false, resource.displayName ?? null,
        emails, JSON.stringify(resource), created],
    );
  }
  // Another connection's user sorts first by every key; a correct query never sees it.
  await db.query(
    `insert into scim_users (connection_id, id, user_name, display_name, resource, created_at)
     values ($1, $2, 'aaa', 'aaa', '{"userName": "aaa", "displayName": "aaa"}', '2000-01-01T00:00:00Z')`,
    [B, randomUUID()],
  );
  for (const [key, created, displayName] of GROUPS) {
    await db.query(
      "insert into scim_groups (connection_id, id, display_name, resource, created_at) values ($1, $2, $3, $4, $5)",
      [A, id(key), displayName, JSON.stringify({ displayName }), created],
    );
  }
}


describe("sortBy and sortOrder as SQL (RFC 7644 §3.4.2.3)", () => {
  let db: Db;
  beforeAll(async () => {
    db = await testDb();
    await load(db);
  });
  afterAll(async () => {
    await db.close();
  });

  const users = async (sortBy: string | undefined, sortOrder?: "ascending" | "descending"): Promise<string[]> => {
    const sql = `select u.id from scim_users u where u.connection_id = $1 order by ${userOrderSql(sortBy, sortOrder)}`;
    return (await db.query<{ id: string }>(sql, [A])).rows.map((r) => keys.get(r.id) ?? r.id);
  };

  it.each<[string, string | undefined, "ascending" | "descending" | undefined, string[]]>([
    ["orders by creation without sortBy", undefined, undefined, ["u1", "u2", "u3", "u4", "u5"]],
    ["ignores sortOrder without sortBy", undefined, "descending", ["u1", "u2", "u3", "u4", "u5"]],
    ["sorts case-insensitive strings by lower case", "userName", "ascending", ["u2", "u1", "u3", "u4", "u5"]],
    ["sorts ascending when sortOrder is absent", "userName", undefined, ["u2", "u1", "u3", "u4", "u5"]],
    ["sorts descending", "userName", "descending", ["u5", "u4", "u3", "u1", "u2"]],
    ["resolves sortBy case-insensitively", "USERNAME", undefined, ["u2", "u1", "u3", "u4", "u5"]],
    ["resolves a sortBy named by its full URN", "urn:ietf:params:scim:schemas:core:2.0:User:userName", undefined, ["u2", "u1", "u3", "u4", "u5"]],
    ["breaks ties by creation and puts missing values last", "displayName", "ascending", ["u2", "u3", "u1", "u4", "u5"]],
    ["puts missing values first when descending", "displayName", "descending", ["u4", "u5", "u1", "u2", "u3"]],
    ["treats empty strings as missing", "title", "ascending", ["u4", "u1", "u5", "u2", "u3"]],
    ["sorts case-exact strings by code point", "externalId", "ascending", ["u4", "u5", "u3", "u1", "u2"]],
    ["sorts a multi-valued attribute by its primary value, else its first", "emails", "ascending", ["u1", "u4", "u2", "u3", "u5"]],
    ["sorts by a sub-attribute of the primary or first element", "emails.value", "ascending", ["u1", "u4", "u2", "u3", "u5"]],
    ["sorts by an enterprise extension attribute", `${ENT}:employeeNumber`, "ascending", ["u5", "u1", "u2", "u3", "u4"]],
    ["sorts booleans false first", "active", "ascending", ["u3", "u1", "u2", "u4", "u5"]],
    ["sorts by meta.created", "meta.created", "descending", ["u5", "u4", "u3", "u2", "u1"]],
  ])("%s", async (_, sortBy, sortOrder, expected) => {
    expect(await users(sortBy, sortOrder)).toEqual(expected);
  });

  it("sorts by id", async () => {
    expect(await users("id")).toEqual(USERS.map(([key]) => key).sort((a, b) => (id(a) < id(b) ? -1 : 1)));
  });

  it("composes with a filter", async () => {
    const params = new SqlParams([A]);
    const sql = `select u.id from scim_users u where u.connection_id = $1 and (${userFilterSql('title pr', params)})
      order by ${userOrderSql("title", "descending")}`;
    expect((await db.query<{ id: string }>(sql, params.values)).rows.map((r) => keys.get(r.id))).toEqual(["u1", "u5", "u4"]);
  });

  it("sorts groups by displayName case-insensitively", async () => {
    const sql = `select g.id from scim_groups g where g.connection_id = $1 order by ${groupOrderSql("displayName", undefined)}`;
    expect((await db.query<{ id: string }>(sql, [A])).rows.map((r) => keys.get(r.id))).toEqual(["Alpha", "beta", "gamma"]);
  });

  it("always ends in the unique created_at, id tiebreaker", () => {
    expect(userOrderSql(undefined, undefined)).toBe("u.created_at, u.id");
    expect(userOrderSql("emails", "descending")).toMatch(/, u\.created_at, u\.id$/);
    expect(groupOrderSql("displayName", "ascending")).toMatch(/, g\.created_at, g\.id$/);
  });

  it.each<[string, () => string, string]>([
    ["an unknown sortBy, naming it", () => userOrderSql("shoeSize", undefined), "Unknown attribute 'shoeSize'"],
    ["a complex sortBy", () => userOrderSql("name", undefined), "sortBy 'name' names a complex attribute"],
    ["sorting by the password", () => userOrderSql("password", undefined), "Attribute 'password' cannot be used"],
    ["sorting by a user's groups", () => userOrderSql("groups.display", undefined), "Cannot sort by 'groups.display'"],
    ["sorting by a group's members", () => groupOrderSql("members", undefined), "Cannot sort by 'members'"],
    ["an unknown sortOrder", () => userOrderSql("userName", "sideways" as "ascending"), 'sortOrder must be "ascending" or "descending"'],
  ])("refuses %s with 400 invalidValue", (_, fn, reason) => {
    expect(scimErrorOf(fn)).toEqual({ status: 400, scimType: "invalidValue", message: expect.stringContaining(reason) });
  });
});
