import SCIMMY from "scimmy";
import { normalisePatchBody, userDefinition } from "../../src/scim/dialect.js";
import { simplePatch } from "../../src/scim/simple-patch.js";
import { storable } from "../../src/scim/canonical-json.js";

const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const CORE = "urn:ietf:params:scim:schemas:core:2.0:User";
const patch = (...Operations: unknown[]) => ({ schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations });

/** A stored user as the bridge keeps it: attributes only, no id, meta or schemas. */
const stored = (): Record<string, unknown> => ({
  userName: "alice@example.com",
  externalId: "E-1001",
  active: true,
  displayName: "Alice Andersen",
  name: { givenName: "Alice", familyName: "Andersen" },
  emails: [{ value: "alice@example.com", type: "work", primary: true }],
  [ENTERPRISE]: { department: "Engineering", manager: { value: "m-1" } },
});
const withoutName = (): Record<string, unknown> => {
  const { name: _name, [ENTERPRISE]: _enterprise, ...rest } = stored();
  return rest;
};

/** What the bridge stored before the fast path: SCIMMY's PatchOp, then its "in" schema, then storable(). */
async function viaScimmy(body: unknown, resource: Record<string, unknown>): Promise<Record<string, unknown>> {
  let result: Record<string, unknown> | undefined;
  const current = new SCIMMY.Schemas.User({ ...resource, id: "u-1", schemas: [CORE, ...(ENTERPRISE in resource ? [ENTERPRISE] : [])] } as never, "out");
  await new SCIMMY.Messages.PatchOp(body as never).apply(current as never, async (instance: unknown) => {
    result = storable(new SCIMMY.Schemas.User(instance as never, "in"), ["groups"]);
    return { ...result, id: "u-1" };
  });
  return result!;
}

/** What the IdPs send on the hot path (after router.ts's dialect normalisation). */
const simpleBodies: [string, unknown, () => Record<string, unknown>][] = [
  ["RFC / Okta: replace active false", patch({ op: "replace", path: "active", value: false }), stored],
  ["Okta: no-path replace {active:false}", patch({ op: "replace", value: { active: false } }), stored],
  ["Entra: Replace active \"False\"", normalisePatchBody(userDefinition(), patch({ op: "Replace", path: "active", value: "False" })), stored],
  ["Entra: no-path Replace with path keys", normalisePatchBody(userDefinition(), patch({ op: "Replace", value: { active: "True", "name.givenName": "Al", displayName: "Al A" } })), stored],
  ["add of a sub-attribute whose parent is missing", patch({ op: "add", path: "name.givenName", value: "Al" }), withoutName],
  ["enterprise URN path", patch({ op: "replace", path: `${ENTERPRISE}:department`, value: "Finance" }), stored],
  ["enterprise URN path, extension missing", patch({ op: "add", path: `${ENTERPRISE}:costCenter`, value: "CC-9" }), withoutName],
  ["several operations, the later winning", patch({ op: "replace", path: "active", value: false }, { op: "add", path: "title", value: "x" }, { op: "replace", path: "title", value: "y" }), stored],
  ["empty string", patch({ op: "replace", path: "nickName", value: "" }), stored],
];

describe("the simple PATCH path (plain assignments without SCIMMY's PatchOp)", () => {
  it.each(simpleBodies)("stores exactly what SCIMMY's PatchOp stores: %s", async (_name, body, start) => {
    const apply = simplePatch(userDefinition(), body);
    expect(apply).toBeDefined();
    const expected = await viaScimmy(body, start());
    expect(apply!(start())).toEqual(expected);
  });

  it("does not modify the stored attributes it is given", () => {
    const resource = stored();
    simplePatch(userDefinition(), patch({ op: "replace", path: "name.givenName", value: "Al" }))!(resource);
    expect(resource).toEqual(stored());
  });

  const notSimple: [string, unknown][] = [
    ["remove", patch({ op: "remove", path: "title" })],
    ["a value-path filter", patch({ op: "replace", path: 'emails[type eq "work"].value', value: "a@x" })],
    ["a multi-valued attribute", patch({ op: "add", path: "emails", value: [{ value: "a@x" }] })],
    ["a read-only attribute", patch({ op: "replace", path: "id", value: "other" })],
    ["meta", patch({ op: "replace", path: "meta.created", value: "2020-01-01T00:00:00Z" })],
    ["the required userName (its uniqueness and presence are SCIMMY's and the database's to check)", patch({ op: "replace", path: "userName", value: "bob" })],
    ["a read-only sub-attribute", patch({ op: "replace", path: `${ENTERPRISE}:manager.displayName`, value: "Boss" })],
    // SCIMMY's PatchOp refuses these three (the dialect normalisation rewrites the last two before either path sees them).
    ["an extension's sub-attribute", patch({ op: "replace", path: `${ENTERPRISE}:manager.value`, value: "m-2" })],
    ["a path in other case", patch({ op: "replace", path: "DisplayName", value: "ALICE" })],
    ["a core URN path", patch({ op: "replace", path: `${CORE}:title`, value: "Engineer" })],
    ["a write-only password", patch({ op: "replace", path: "password", value: "s3cret" })],
    ["a complex value", patch({ op: "replace", path: "name", value: { givenName: "A" } })],
    ["a complex manager", patch({ op: "replace", path: `${ENTERPRISE}:manager`, value: { value: "m-2" } })],
    ["a string for a boolean (not normalised)", patch({ op: "replace", path: "active", value: "False" })],
    ["a number for a string", patch({ op: "replace", path: "title", value: 7 })],
    ["null", patch({ op: "replace", path: "title", value: null })],
    ["an unknown attribute", patch({ op: "replace", path: "shoeSize", value: "44" })],
    ["an unknown extension", patch({ op: "replace", path: "urn:example:ext:1.0:User:x", value: "y" })],
    ["a no-path extension object", patch({ op: "replace", value: { [ENTERPRISE]: { department: "F" } } })],
    ["a no-path value with one complex key", patch({ op: "replace", value: { active: false, name: { givenName: "A" } } })],
    ["an empty no-path value", patch({ op: "replace", value: {} })],
    ["an operation with extra members", patch({ op: "replace", path: "active", value: false, extra: 1 })],
    ["no operations", patch()],
    ["an op SCIMMY must reject", patch({ op: "move", path: "active", value: false })],
    ["a body without the PatchOp schema", { Operations: [{ op: "replace", path: "active", value: false }] }],
    ["a body with extra members", { ...patch({ op: "replace", path: "active", value: false }), extra: true }],
    ["not an object", "replace active"],
  ];

  it.each(notSimple)("leaves %s to SCIMMY", (_name, body) => {
    expect(simplePatch(userDefinition(), body)).toBeUndefined();
  });
});
