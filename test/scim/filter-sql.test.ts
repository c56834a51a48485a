import { randomUUID } from "node:crypto";
import SCIMMY from "scimmy";
import { declareSchemas, ENTERPRISE_USER as ENT } from "../../src/scim/declare.js";
import { groupFilterSql, groupOrderSql, SqlParams, userFilterSql, userOrderSql } from "../../src/scim/filter-sql.js";
import type { Db } from "../../src/storage/db.js";
import { testDb } from "../support/test-db.js";
import { scimErrorOf } from "../support/scim-error-of.js";

// Fixtures: connection A holds the resources the cases name; connection B holds look-alikes
// (same userName, externalId, displayName) that a fragment composed with `connection_id = $1`
// must never return. Cases name resources by key; `{key}` in a filter is replaced by its id.
type Body = Record<string, unknown>;
interface UserFixture { key: string; created: string; updated?: string; body: Body; connection?: "B" }
interface GroupFixture { key: string; created: string; body: Body; members: [string, "User" | "Group", string][]; connection?: "B" }

const USERS: UserFixture[] = [
  { key: "alice", created: "2024-01-01T00:00:00Z", updated: "2024-06-15T00:00:00Z", body: {
    userName: "Alice@Example.com", externalId: "ext-1", displayName: "Alice Archer", active: true, title: "Engineer",
    name: { givenName: "Alice", familyName: "Archer" },
    emails: [{ value: "alice@example.com", type: "work", primary: true }, { value: "alice.home@mail.org", type: "home" }],
    [ENT]: { employeeNumber: "1001", department: "R&D", manager: { value: "m-bob" } } } },
  { key: "bob", created: "2024-02-01T00:00:00Z", body: {
    userName: "bob@example.com", externalId: "EXT-2", displayName: "Bob Baker", active: false, title: "Manager",
    emails: [{ value: "bob@work.example.com", type: "work" }], [ENT]: { employeeNumber: "1002", department: "Sales" } } },
  { key: "carol", created: "2024-03-01T00:00:00Z", body: { userName: "carol_x@example.org", active: true, emails: [] } },
  { key: "dave", created: "2024-04-01T00:00:00Z", body: {
    userName: "dave%50@example.org", displayName: "Dave", active: true, title: "engineer", name: { familyName: "Doe" },
    emails: [{ value: "Dave@Example.ORG", type: "home", primary: true }, { value: "d@work.com", type: "work" }] } },
  { key: "erin", created: "2024-05-01T00:00:00Z", body: {
    userName: "erin\\back@example.com", externalId: "ext-5", active: true, title: "", emails: [{ value: "erin@example.com" }] } },
  { key: "frank", created: "2024-06-01T00:00:00Z", body: {
    userName: "frank", nickName: "Frankie", active: false, [ENT]: { employeeNumber: "2001", manager: { value: "m-alice" } } } },
  { key: "alice-b", connection: "B", created: "2023-12-01T00:00:00Z", body: {
    userName: "alice@example.com", externalId: "ext-1", active: true, title: "Engineer",
    emails: [{ value: "alice@example.com", type: "work" }], [ENT]: { employeeNumber: "1001" } } },
];

const GROUPS: GroupFixture[] = [
  { key: "engineering", created: "2024-01-10T00:00:00Z", body: { displayName: "Engineering", externalId: "g-eng" },
    members: [["alice", "User", "Alice Archer"], ["dave", "User", "Dave"]] },
  { key: "sales", created: "2024-01-20T00:00:00Z", body: { displayName: "Sales", externalId: "g-sales" },
    members: [["bob", "User", "Bob Baker"], ["engineering", "Group", "Engineering"]] },
  { key: "empty", created: "2024-01-30T00:00:00Z", body: { displayName: "Empty Group" }, members: [] },
  { key: "engineering-b", connection: "B", created: "2024-01-05T00:00:00Z", body: { displayName: "Engineering", externalId: "g-eng" },
    members: [["alice-b", "User", "Alice"]] },
];

const ids = new Map<string, string>([...USERS, ...GROUPS].map((f) => [f.key, randomUUID()]));
const keys = new Map([...ids].map(([key, id]) => [id, key]));
const A = randomUUID();
const B = randomUUID();
const id = (key: string): string => ids.get(key) ?? "";

/** The attributes as the repositories store them: SCIMMY-coerced, without schemas, id, meta (and members). */
function stored(instance: object): Body {
  const { schemas: _s, id: _i, meta: _m, members: _members, ...rest } = JSON.parse(JSON.stringify(instance)) as Body;
  return rest;
}

async function load(db: Db): Promise<void> {
  declareSchemas();
  await db.query("insert into connections (id, name) values ($1, 'filter-a'), ($2, 'filter-b')", [A, B]);
  for (const f of USERS) {
    const resource = stored(new SCIMMY.Schemas.User({ schemas: [SCIMMY.Schemas.User.definition.id], ...f.body }, "in"));
    const emails = ((resource.emails ?? []) as { value: string }[]).map((e) => e.value.toLowerCase());
    await db.query(
      `insert into scim_users (connection_id, id, user_name, external_id, active, display_name, emails, resource, created_at, updated_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [f.connection === "B" ? B : A, id(f.key), resource.userName, resource.externalId ?? null, resource.active !== false,
        resource.displayName ?? null, emails, JSON.stringify(resource), f.created, f.updated ?? f.created],
    );
  }
  for (const f of GROUPS) {
    const resource = stored(new SCIMMY.Schemas.Group({ schemas: [SCIMMY.Schemas.Group.definition.id], ...f.body }, "in"));
    const connection = f.connection === "B" ? B : A;
    await db.query(
      `insert into scim_groups (connection_id, id, display_name, external_id, resource, created_at, updated_at)
       values ($1, $2, $3, $4, $5, $6, $6)`,
      [connection, id(f.key), resource.displayName, resource.externalId ?? null, JSON.stringify(resource), f.created],
    );
    for (const [member, type, display] of f.members) {
      await db.query(
        "insert into scim_group_members (connection_id, group_id, member_id, member_type, display) values ($1, $2, $3, $4, $5)",
        [connection, id(f.key), id(member), type, display],
      );
    }
  }
}

const expand = (filter: string): string => filter.replace(/\{([\w-]+)\}/g, (_, key: string) => id(key));

function usersQuery(filter: string): { text: string; values: unknown[] } {
  const params = new SqlParams([A]);
  const where = userFilterSql(expand(filter), params);
  return { text: `select u.id from scim_users u where u.connection_id = $1 and (${where}) order by ${userOrderSql(undefined, undefined)}`, values: params.values };
}

function groupsQuery(filter: string): { text: string; values: unknown[] } {
  const params = new SqlParams([A]);
  const where = groupFilterSql(expand(filter), params);
  return { text: `select g.id from scim_groups g where g.connection_id = $1 and (${where}) order by ${groupOrderSql(undefined, undefined)}`, values: params.values };
}


describe("SCIM filters as SQL (RFC 7644 §3.4.2.2)", () => {
  let db: Db;
  const run = async (query: { text: string; values: unknown[] }): Promise<string[]> =>
    (await db.query<{ id: string }>(query.text, query.values)).rows.map((r) => keys.get(r.id) ?? r.id);
  const users = (filter: string): Promise<string[]> => run(usersQuery(filter));
  const groups = (filter: string): Promise<string[]> => run(groupsQuery(filter));

  beforeAll(async () => {
    db = await testDb();
    await load(db);
  });
  afterAll(async () => {
    await db.close();
  });

  describe("comparison operators on users", () => {
    it.each<[string, string, string[]]>([
      ["matches userName case-insensitively", 'userName eq "ALICE@example.com"', ["alice"]],
      ["matches a core attribute named by its full URN", 'urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bob@example.com"', ["bob"]],
      ["resolves attribute names and operators case-insensitively", 'USERNAME EQ "bob@example.com"', ["bob"]],
      ["matches ne on other values and on absent ones", 'title ne "Engineer"', ["bob", "carol", "erin", "frank"]],
      ["matches co anywhere in the value", 'userName co "EXAMPLE.org"', ["carol", "dave"]],
      ["matches sw at the start", 'userName sw "A"', ["alice"]],
      ["matches ew at the end", 'userName ew ".COM"', ["alice", "bob", "erin"]],
      ["treats _ in a pattern as a character", 'userName co "_"', ["carol"]],
      ["treats % in a pattern as a character", 'userName co "%"', ["dave"]],
      ["treats \\ in a pattern as a character", 'userName co "\\\\"', ["erin"]],
      ["orders strings with gt", 'userName gt "c"', ["carol", "dave", "erin", "frank"]],
      ["orders strings with ge", 'userName ge "erin\\\\back@example.com"', ["erin", "frank"]],
      ["orders strings with lt", 'userName lt "bob"', ["alice"]],
      ["orders strings with le", 'userName le "BOB@example.com"', ["alice", "bob"]],
      ["matches pr only for non-empty values", "title pr", ["alice", "bob", "dave"]],
      ["treats eq null as absent", "title eq null", ["carol", "erin", "frank"]],
      ["treats ne null as present", "displayName ne null", ["alice", "bob", "dave"]],
      ["matches displayName case-insensitively", 'displayName eq "alice archer"', ["alice"]],
      ["matches a sub-attribute of a complex attribute", 'name.familyName eq "ARCHER"', ["alice"]],
      ["matches sub-attribute names case-insensitively", 'Name.FamilyName sw "d"', ["dave"]],
      ["matches pr on a complex attribute", "name pr", ["alice", "dave"]],
      ["matches a value filter on a singular complex attribute", 'name[givenName eq "alice" and familyName pr]', ["alice"]],
      ["matches an attribute kept only in resource", 'nickName eq "frankie"', ["frank"]],
    ])("%s", async (_, filter, expected) => {
      expect(await users(filter)).toEqual(expected);
    });
  });

  describe("case rules and typed attributes", () => {
    it.each<[string, string, string[]]>([
      ["matches externalId case-exactly", 'externalId eq "EXT-2"', ["bob"]],
      ["does not match externalId in another case", 'externalId eq "ext-2"', []],
      ["matches id exactly", "id eq \"{dave}\"", ["dave"]],
      ["matches nothing for an id that is not a uuid", 'id eq "not-a-uuid"', []],
      ["matches everything for ne with an id that is not a uuid", 'id ne "not-a-uuid"', ["alice", "bob", "carol", "dave", "erin", "frank"]],
      ["matches id ne a uuid", "id ne \"{alice}\"", ["bob", "carol", "dave", "erin", "frank"]],
      ["matches active eq true", "active eq true", ["alice", "carol", "dave", "erin"]],
      ["matches active eq false", "active eq false", ["bob", "frank"]],
      ["matches active ne true", "active ne true", ["bob", "frank"]],
      ["reads TRUE as true", "active eq TRUE", ["alice", "carol", "dave", "erin"]],
      ["accepts Entra's string booleans", 'active eq "False"', ["bob", "frank"]],
      ["matches meta.resourceType as a constant", 'meta.resourceType eq "User"', ["alice", "bob", "carol", "dave", "erin", "frank"]],
      ["matches no user for meta.resourceType Group", 'meta.resourceType eq "Group"', []],
      ["never runs client text as SQL", `userName eq "x' or '1'='1"`, []],
    ])("%s", async (_, filter, expected) => {
      expect(await users(filter)).toEqual(expected);
    });
  });

  describe("dateTime comparisons", () => {
    it.each<[string, string, string[]]>([
      ["compares meta.created chronologically with gt", 'meta.created gt "2024-03-01T00:00:00Z"', ["dave", "erin", "frank"]],
      ["includes the instant itself with ge", 'meta.created ge "2024-03-01T00:00:00Z"', ["carol", "dave", "erin", "frank"]],
      ["compares with lt", 'meta.created lt "2024-02-01T00:00:00.000Z"', ["alice"]],
      ["compares with le", 'meta.created le "2024-02-01T00:00:00Z"', ["alice", "bob"]],
      ["matches the same instant with eq", 'meta.created eq "2024-01-01T00:00:00Z"', ["alice"]],
      ["honours the offset of the value", 'meta.created lt "2024-02-01T01:00:00+02:00"', ["alice"]],
      ["reads a date without time as midnight UTC", 'meta.created lt "2024-02-01"', ["alice"]],
      ["compares meta.lastModified", 'meta.lastModified gt "2024-06-01T00:00:00Z"', ["alice"]],
      ["compares meta.created ne", 'meta.created ne "2024-01-01T00:00:00Z"', ["bob", "carol", "dave", "erin", "frank"]],
    ])("%s", async (_, filter, expected) => {
      expect(await users(filter)).toEqual(expected);
    });
  });

  describe("multi-valued attributes", () => {
    it.each<[string, string, string[]]>([
      ["matches emails.value case-insensitively", 'emails.value eq "ALICE@example.com"', ["alice"]],
      ["compares the value of a multi-valued attribute named without sub-attribute", 'emails eq "dave@example.org"', ["dave"]],
      ["matches when some element matches", 'emails.value co "@work"', ["bob", "dave"]],
      ["matches emails.value sw", 'emails.value sw "D@"', ["dave"]],
      ["matches emails.value ne when some element differs", 'emails.value ne "bob@work.example.com"', ["alice", "dave", "erin"]],
      ["matches emails.value pr when some element has one", "emails.value pr", ["alice", "bob", "dave", "erin"]],
      ["matches emails pr for a non-empty array", "emails pr", ["alice", "bob", "dave", "erin"]],
      ["matches a sub-attribute on any element", 'emails.type eq "work"', ["alice", "bob", "dave"]],
      ["matches a value filter on one element", 'emails[type eq "home" and value co "example"]', ["dave"]],
      ["lets two sub-attribute filters match different elements", 'emails.type eq "home" and emails.value co "example"', ["alice", "dave"]],
      ["lets two value filters match different elements", 'emails[type eq "work"] and emails[type eq "home"]', ["alice", "dave"]],
      ["matches or inside a value filter", 'emails[type eq "home" or value ew "@example.com"]', ["alice", "dave", "erin"]],
      ["matches not inside a value filter, including elements without the attribute", 'emails[not (type eq "work")]', ["alice", "dave", "erin"]],
      ["matches a boolean sub-attribute", "emails[primary eq true]", ["alice", "dave"]],
      ["matches a sub-attribute after a value filter on the same element", 'emails[type eq "work"].value co "BOB"', ["bob"]],
      ["matches groups.value through the membership table", "groups.value eq \"{engineering}\"", ["alice", "dave"]],
      ["matches groups.display through the group's displayName", 'groups.display eq "sales"', ["bob"]],
      ["matches groups pr for members of any group", "groups pr", ["alice", "bob", "dave"]],
    ])("%s", async (_, filter, expected) => {
      expect(await users(filter)).toEqual(expected);
    });
  });

  describe("the enterprise extension", () => {
    const urn = (attribute: string): string => `${ENT}:${attribute}`;
    it.each<[string, string, string[]]>([
      ["matches an extension attribute by its URN", `${urn("employeeNumber")} eq "1002"`, ["bob"]],
      ["matches a URN in any case", `${urn("employeeNumber").toUpperCase()} eq "2001"`, ["frank"]],
      ["matches sw on an extension attribute", `${urn("employeeNumber")} sw "100"`, ["alice", "bob"]],
      ["matches a sub-attribute of an extension attribute", `${urn("manager.value")} eq "m-alice"`, ["frank"]],
      ["matches a value filter on an extension attribute", `${urn("manager")}[value eq "m-bob"]`, ["alice"]],
      ["matches pr on an extension attribute", `${urn("department")} pr`, ["alice", "bob"]],
    ])("%s", async (_, filter, expected) => {
      expect(await users(filter)).toEqual(expected);
    });
  });

  describe("logical operators and grouping", () => {
    it.each<[string, string, string[]]>([
      ["matches either side of or", 'userName sw "a" or userName sw "b"', ["alice", "bob"]],
      ["matches both sides of and", "active eq true and title pr", ["alice", "dave"]],
      ["binds and tighter than or", 'userName sw "a" or userName sw "b" and active eq true', ["alice"]],
      ["groups with parentheses", '(userName sw "a" or userName sw "b") and active eq false', ["bob"]],
      ["keeps a parenthesised term after an or-group", '(userName sw "a" or userName sw "b") and (active eq false)', ["bob"]],
      ["keeps a negated term after an or-group", '(userName sw "a" or userName sw "b") and not (active eq false)', ["alice"]],
      ["crosses two or-groups", '(userName sw "a" or userName sw "b") and (title eq "manager" or title eq "engineer")', ["alice", "bob"]],
      ["negates a comparison", "not (active eq true)", ["bob", "frank"]],
      ["matches not on absent values", "not (title pr)", ["carol", "erin", "frank"]],
      ["matches absent externalIds under not", 'not (externalId eq "ext-1")', ["bob", "carol", "dave", "erin", "frank"]],
      ["negates an or-group as a whole", 'not (userName sw "a" or userName sw "b")', ["carol", "dave", "erin", "frank"]],
      ["negates an and-group as a whole", 'not (active eq true and title pr)', ["bob", "carol", "erin", "frank"]],
      ["negates a value filter", 'not (emails[type eq "work"])', ["carol", "erin", "frank"]],
      ["combines and with not", 'title eq "engineer" and not (userName sw "dave")', ["alice"]],
    ])("%s", async (_, filter, expected) => {
      expect(await users(filter)).toEqual(expected);
    });
  });

  describe("groups", () => {
    it.each<[string, string, string[]]>([
      ["matches displayName case-insensitively", 'displayName eq "ENGINEERING"', ["engineering"]],
      ["matches displayName sw", 'displayName sw "e"', ["engineering", "empty"]],
      ["matches externalId case-exactly", 'externalId eq "g-sales"', ["sales"]],
      ["matches id", "id eq \"{sales}\"", ["sales"]],
      ["matches members.value", "members.value eq \"{alice}\"", ["engineering"]],
      ["compares the value of members named without sub-attribute", "members eq \"{bob}\"", ["sales"]],
      ["matches nothing for a members.value that is not a uuid", 'members.value eq "not-a-uuid"', []],
      ["matches members.value ne when some member differs", "members.value ne \"{alice}\"", ["engineering", "sales"]],
      ["matches members.type case-insensitively", 'members.type eq "group"', ["sales"]],
      ["matches a value filter on one member", "members[type eq \"User\" and value eq \"{dave}\"]", ["engineering"]],
      ["matches members.display", 'members.display co "ali"', ["engineering"]],
      ["matches members pr for groups with members", "members pr", ["engineering", "sales"]],
      ["matches not (members pr) for empty groups", "not (members pr)", ["empty"]],
      ["matches meta.created on groups", 'meta.created gt "2024-01-15T00:00:00Z"', ["sales", "empty"]],
      ["matches meta.resourceType Group", 'meta.resourceType eq "Group"', ["engineering", "sales", "empty"]],
    ])("%s", async (_, filter, expected) => {
      expect(await groups(filter)).toEqual(expected);
    });
  });

  describe("refusals", () => {
    it.each<[string, string, string]>([
      ["an unknown attribute, naming it", 'shoeSize eq "42"', "Unknown attribute 'shoeSize'"],
      ["an unknown sub-attribute, naming it", 'name.nickname eq "x"', "Attribute 'name' has no sub-attribute 'nickname'"],
      ["an unknown extension attribute", `${ENT}:shoeSize eq "42"`, `Unknown attribute '${ENT}:shoeSize'`],
      ["an unknown schema URN", 'urn:example:params:Thing:size eq "x"', "Unknown attribute 'urn:example:params:Thing:size'"],
      ["a Group attribute in a User filter", "urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq \"x\"", "Unknown attribute"],
      ["a sub-attribute of a simple attribute", 'userName.first eq "x"', "Attribute 'userName' is not complex, so it has no sub-attribute 'first'"],
      ["a comparison with a complex attribute", 'name eq "x"', "Attribute 'name' is complex"],
      ["a value filter on a simple attribute", 'userName[value eq "x"]', "'userName[…]' needs a complex attribute"],
      ["the password", 'password eq "secret"', "Attribute 'password' cannot be used in a filter or sortBy"],
      ["schemas, which is not stored", 'schemas eq "x"', "Attribute 'schemas' cannot be used"],
      ["meta.version, which is not stored", 'meta.version eq "1"', "Attribute 'meta.version' cannot be used"],
      ["gt on a boolean", "active gt true", "Operator 'gt' is not valid for boolean attribute 'active'"],
      ["co on a boolean", 'active co "t"', "Operator 'co' is not valid for boolean attribute 'active'"],
      ["a non-boolean value for a boolean", 'active eq "maybe"', "Attribute 'active' is a boolean"],
      ["a number for a string", "userName eq 12", "Attribute 'userName' is a string"],
      ["a malformed dateTime", 'meta.created gt "garbage"', "Attribute 'meta.created' is a dateTime"],
      ["an impossible date", 'meta.created gt "2024-02-30T00:00:00Z"', "Attribute 'meta.created' is a dateTime"],
      ["an out-of-range offset", 'meta.created gt "2024-02-01T00:00:00+23:00"', "Attribute 'meta.created' is a dateTime"],
      ["a number for a dateTime", "meta.created gt 5", "Attribute 'meta.created' is a dateTime"],
      ["co on a dateTime", 'meta.created co "2024"', "Operator 'co' is not valid for dateTime attribute 'meta.created'"],
      ["gt with null", "title gt null", "Operator 'gt' cannot compare with null"],
      ["an empty filter", "  ", "Filter is empty"],
      ["a missing value", "userName eq", "Filter ends where a value after 'userName eq' was expected"],
      ["an unknown operator", 'userName like "a"', "Unknown operator 'like' after 'userName'"],
      ["an unquoted string", "userName eq alice", "Expected a value after 'userName eq' but found 'alice'"],
      ["a dangling or", 'userName eq "a" or', "Filter ends where an attribute path was expected"],
      ["a leading and", 'and userName eq "a"', "Unknown operator 'username' after 'and'"],
      ["a second comparison without and/or", 'userName eq "a" eq "b"', "Unexpected 'eq' in filter"],
      ["not without parentheses", 'not userName eq "a"', "Expected '(' but found 'userName'"],
      ["an unclosed group", '(userName eq "a"', "Filter ends where ')' was expected"],
      ["an unclosed value filter", 'emails[type eq "work"', "Filter ends where ']' was expected"],
      ["a nested value filter", 'emails[type[value eq "x"]]', "Value filters cannot be nested"],
      ["an unterminated string", 'userName eq "alice', "Unterminated string starting at position 13"],
      ["an invalid string escape", 'userName eq "a\\qb"', 'Invalid string value "a\\qb"'],
      ["deep nesting", `${"(".repeat(40)}userName eq "a"${")".repeat(40)}`, "Filter nests deeper than 32 levels"],
      ["too many comparisons", Array.from({ length: 501 }, (_, i) => `userName eq "u${i}"`).join(" or "), "Filter has more than 500 comparisons"],
      ["what SCIMMY's parser refuses (nested parentheses)", '((userName eq "a"))', "Unexpected token ')' in filter"],
      ["what SCIMMY's parser refuses (a bracket in a grouped string)", '(displayName eq "a)" or active eq true)', "Unexpected token"],
    ])("refuses %s with 400 invalidFilter", (_, filter, reason) => {
      expect(scimErrorOf(() => userFilterSql(filter, new SqlParams([A])))).toEqual({ status: 400, scimType: "invalidFilter", message: expect.stringContaining(reason) });
    });

    it.each<[string, string, string]>([
      ["a User attribute in a Group filter", 'userName eq "x"', "Unknown attribute 'userName'"],
      ["members.$ref, which is not stored", 'members.$ref eq "x"', "Attribute 'members.$ref' cannot be used"],
      ["an unknown members sub-attribute", 'members.role eq "x"', "Attribute 'members' has no sub-attribute 'role'"],
    ])("refuses %s in a Group filter", (_, filter, reason) => {
      expect(scimErrorOf(() => groupFilterSql(filter, new SqlParams([A])))).toEqual({ status: 400, scimType: "invalidFilter", message: expect.stringContaining(reason) });
    });
  });

  describe("parameters", () => {
    it("binds every client value and writes none into the SQL", () => {
      const params = new SqlParams([A]);
      const sql = userFilterSql(`userName sw "zz%'q" and emails[value co "yy_x"] and ${ENT}:employeeNumber eq "77\\\\7"`, params);
      expect(sql).not.toMatch(/zz|yy|77/);
      expect(params.values).toEqual([A, "zz\\%'q%", "%yy\\_x%", "77\\7"]);
    });
  });

  describe("indexes", () => {
    // The plan is taken in a transaction that is rolled back: the connection first gets 2000 more
    // users, groups and memberships and fresh statistics, so the planner chooses as it would in
    // production (on seven rows any index on connection_id is as good), and sequential scans are
    // disabled, so a plan that still needs one shows "Seq Scan".
    class Rollback extends Error {
      constructor(readonly plan: string) { super("rollback"); }
    }
    const plan = (query: { text: string; values: unknown[] }): Promise<string> =>
      db.transaction(async (tx) => {
        await tx.query("set local enable_seqscan = off");
        await tx.query(
          `insert into scim_users (connection_id, id, user_name, external_id, emails, resource)
           select $1, gen_random_uuid(), 'bulk' || i || '@example.com', 'bulk-' || i, array['bulk' || i || '@example.com'], '{}'
           from generate_series(1, 2000) i`, [A]);
        await tx.query(
          `insert into scim_groups (connection_id, id, display_name, resource)
           select $1, gen_random_uuid(), 'bulk group ' || i, '{}' from generate_series(1, 2000) i`, [A]);
        await tx.query(
          `insert into scim_group_members (connection_id, group_id, member_id)
           select connection_id, id, gen_random_uuid() from scim_groups where connection_id = $1`, [A]);
        await tx.query("analyze scim_users");
        await tx.query("analyze scim_groups");
        await tx.query("analyze scim_group_members");
        const rows = (await tx.query(`explain ${query.text}`, query.values)).rows;
        throw new Rollback(rows.map((r) => String(Object.values(r)[0])).join("\n"));
      }).then(
        () => "not rolled back",
        (error: unknown) => (error instanceof Rollback ? error.plan : Promise.reject(error)),
      );
    const scanOf = (index: string): RegExp => new RegExp(`(Index Scan using|Index Only Scan using|Bitmap Index Scan on) (${index})\\b`);

    // userName sw may use either userName index (with a C collation a plain btree serves LIKE
    // prefixes too); what matters is that the prefix bounds the index range.
    it.each<[string, () => { text: string; values: unknown[] }, string, RegExp | null]>([
      ["userName eq", () => usersQuery('userName eq "Bob@Example.com"'), "scim_users_user_name|scim_users_user_name_prefix", null],
      ["userName sw", () => usersQuery('userName sw "Bo"'), "scim_users_user_name|scim_users_user_name_prefix", /Index Cond: .*lower\(user_name\) (>=|~>=~) 'bo'/],
      ["externalId eq", () => usersQuery('externalId eq "EXT-2"'), "scim_users_external_id", null],
      ["emails.value eq", () => usersQuery('emails.value eq "Bob@Work.example.com"'), "scim_users_emails", null],
      ["group displayName eq", () => groupsQuery('displayName eq "sales"'), "scim_groups_display_name", null],
      ["members.value eq", () => groupsQuery(`members.value eq "${id("bob")}"`), "scim_group_members_pkey|scim_group_members_member", null],
    ])("answers %s from its index", async (_, query, index, condition) => {
      const text = await plan(query());
      expect(text).toMatch(scanOf(index));
      if (condition) expect(text).toMatch(condition);
      expect(text).not.toMatch(/Seq Scan/);
    });
  });
});
