import { canonicalPath, groupDefinition, normalisePatchBody, normaliseResourceBody, unknownAttributes, userDefinition } from "../../src/scim/dialect.js";

const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const patch = (...Operations: unknown[]) => ({ schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations });

describe("IdP dialect normalisation", () => {
  it("turns Entra's \"False\" string into a boolean for a boolean path", () => {
    expect(normalisePatchBody(userDefinition(), patch({ op: "Replace", path: "active", value: "False" }))).toEqual(
      patch({ op: "replace", path: "active", value: false }),
    );
  });

  it("normalises the keys of a no-path replace as paths, leaving strings of string attributes alone", () => {
    const body = patch({ op: "Replace", value: { active: "True", "name.givenName": "G", displayName: "True", [`${ENTERPRISE}:manager`]: "m1" } });
    expect(normalisePatchBody(userDefinition(), body)).toEqual(
      patch({ op: "replace", value: { active: true, "name.givenName": "G", displayName: "True", [`${ENTERPRISE}:manager`]: { value: "m1" } } }),
    );
  });

  it("reads the boolean sub-attribute behind a value-path filter", () => {
    expect(normalisePatchBody(userDefinition(), patch({ op: "Add", path: 'emails[type eq "work"].primary', value: "true" }))).toEqual(
      patch({ op: "add", path: 'emails[type eq "work"].primary', value: true }),
    );
  });

  it("wraps a bare manager id in {value}", () => {
    expect(normalisePatchBody(userDefinition(), patch({ op: "Add", path: `${ENTERPRISE}:manager`, value: "boss" }))).toEqual(
      patch({ op: "add", path: `${ENTERPRISE}:manager`, value: { value: "boss" } }),
    );
  });

  it("coerces booleans inside resource bodies, including multi-valued and extension attributes", () => {
    expect(normaliseResourceBody(userDefinition(), { userName: "x", active: "False", emails: [{ value: "a@x", primary: "true" }], [ENTERPRISE]: { manager: "m" } })).toEqual({
      userName: "x",
      active: false,
      emails: [{ value: "a@x", primary: true }],
      [ENTERPRISE]: { manager: { value: "m" } },
    });
  });

  it("leaves what is not a string boolean for SCIMMY to judge", () => {
    expect(normaliseResourceBody(userDefinition(), { userName: "x", active: "maybe" })).toEqual({ userName: "x", active: "maybe" });
  });
});

describe("unknown attributes", () => {
  it("names every attribute no schema defines, at any depth", () => {
    expect(
      unknownAttributes(userDefinition(), {
        userName: "x",
        foo: 1,
        name: { givenName: "a", bar: 2 },
        [ENTERPRISE]: { manager: { value: "m" }, zap: 1 },
        "urn:example:unknown:1.0:User": { a: 1 },
        emails: [{ value: "x", wat: 1 }],
      }).sort(),
    ).toEqual(["emails.wat", "foo", "name.bar", `${ENTERPRISE}:zap`, "urn:example:unknown:1.0:User"].sort());
  });

  it("accepts schemas, id, meta and every defined attribute, in any case", () => {
    expect(unknownAttributes(userDefinition(), { schemas: [], id: "1", meta: {}, USERNAME: "x", Name: { GivenName: "a" }, [`${ENTERPRISE}:employeeNumber`]: "7" })).toEqual([]);
    expect(unknownAttributes(groupDefinition(), { displayName: "x", members: [{ value: "a", display: "b", type: "User" }] })).toEqual([]);
  });
});

describe("null values (RFC 7643 §2.5: null is unassigned)", () => {
  it("drops null attributes, top-level and in extensions, before SCIMMY sees them", () => {
    expect(normaliseResourceBody(userDefinition(), { userName: "x", phoneNumbers: null, title: null, name: { givenName: "a", middleName: null }, [ENTERPRISE]: { department: null, costCenter: "7" } })).toEqual({
      userName: "x",
      name: { givenName: "a" },
      [ENTERPRISE]: { costCenter: "7" },
    });
  });

  it("does not call an unknown attribute that is null unknown", () => {
    expect(unknownAttributes(userDefinition(), { userName: "x", department: null, manager: null })).toEqual([]);
  });
});

describe("PATCH paths in the schema's own spelling (RFC 7643 §2.1, RFC 7644 §3.10)", () => {
  it.each([
    ["DisplayName", "displayName"],
    ["NAME.GIVENNAME", "name.givenName"],
    ["urn:ietf:params:scim:schemas:core:2.0:User:title", "title"],
    ["URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:Name.FamilyName", "name.familyName"],
    [`${ENTERPRISE}:Department`, `${ENTERPRISE}:department`],
    ["urn:ietf:params:scim:schemas:extension:ENTERPRISE:2.0:User:Manager", `${ENTERPRISE}:manager`],
    ['Emails[type eq "work"].Value', 'emails[type eq "work"].value'],
    ['members[value eq "2819c223-7f76-453a-919d-413861904646"]', 'members[value eq "2819c223-7f76-453a-919d-413861904646"]'],
  ])("reads %s as %s", (sent, canonical) => {
    expect(canonicalPath(userDefinition(), sent)).toBe(canonical);
  });

  it.each(["shoeSize", "urn:example:ext:1.0:User:x", "name.givenName.more", 'emails[type eq "work"'])("leaves %s as sent, for SCIMMY to refuse", (path) => {
    expect(canonicalPath(userDefinition(), path)).toBe(path);
  });

  it("is applied to every PATCH operation's path", () => {
    expect(normalisePatchBody(userDefinition(), patch({ op: "Replace", path: "Active", value: "False" }))).toEqual(patch({ op: "replace", path: "active", value: false }));
  });
});
