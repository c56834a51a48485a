import { parseJsonTemplate, parseTemplate, renderJson, renderText, renderValue, TemplateError, type TemplateScope } from "./template.js";
import { Problems } from "./problems.js";

const ACME = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";

const scope: TemplateScope = {
  subject: {
    connectionId: "c-1",
    id: "s-1",
    userName: "ada@example.com",
    externalId: null,
    displayName: "Ada Lovelace",
    emails: ["ada@example.com", "ada.l@example.org"],
    enterprise: { employeeNumber: "E42", manager: { value: "m-7" } },
    extensions: { [ACME]: { costCenter: 4100, "team.name": "analytics", tags: ["a", "b"] } },
  },
  account: { id: "u 1/2", data: { login: "ada", seats: 3 } },
  intent: { kind: "revoke-entitlement", entitlement: "billing admins" },
  vars: { org: "acme", region: "eu-1", "empty": "" },
  secrets: { token: "s3cr3t-token" },
  now: "2024-05-01T10:00:00.000Z",
};

const text = (source: string) => renderText(parseTemplate(source), scope);

describe("templates as text", () => {
  test.each([
    ["{{subject.userName}}", "ada@example.com"],
    ["{{ subject.userName }}", "ada@example.com"],
    ["{{subject.emails.0}}", "ada@example.com"],
    ["{{subject.emails[1]}}", "ada.l@example.org"],
    ["{{subject.displayName}}", "Ada Lovelace"],
    ["{{subject.enterprise.employeeNumber}}", "E42"],
    ["{{subject.enterprise.manager.value}}", "m-7"],
    [`{{subject.extensions["${ACME}"].costCenter}}`, "4100"],
    [`{{subject.extensions['${ACME}']["team.name"]}}`, "analytics"],
    [`{{subject.extensions["${ACME}"].tags.1}}`, "b"],
    ["{{account.id}}", "u 1/2"],
    ["{{account.data.login}}", "ada"],
    ["{{intent.kind}}", "revoke-entitlement"],
    ["{{intent.entitlement}}", "billing admins"],
    ["orgs/{{vars.org}}/{{vars.region}}", "orgs/acme/eu-1"],
    ["Bearer {{secrets.token}}", "Bearer s3cr3t-token"],
    ["at {{now}}", "at 2024-05-01T10:00:00.000Z"],
    ["no placeholders", "no placeholders"],
  ])("%s renders %j", (source, expected) => {
    expect(text(source)).toBe(expected);
  });

  test.each([
    ["{{subject.externalId}}", "{{subject.externalId}} has no value here"],
    ["{{subject.emails.5}}", "{{subject.emails.5}} has no value here"],
    ["{{subject.enterprise.department}}", "{{subject.enterprise.department}} has no value here"],
    [`{{subject.extensions["urn:other"].x}}`, `{{subject.extensions["urn:other"].x}} has no value here`],
    ["{{account.data.missing}}", "{{account.data.missing}} has no value here"],
    ["{{vars.empty}}", "{{vars.empty}} is empty"],
    ["{{subject.emails}}", "{{subject.emails}} is a list, not text"],
    ["{{subject.enterprise}}", "{{subject.enterprise}} is an object, not text"],
    ["{{subject.userName.first}}", "{{subject.userName.first}} has no value here"],
  ])("%s is an error, never an empty string: %s", (source, message) => {
    expect(() => text(source)).toThrow(TemplateError);
    expect(() => text(source)).toThrow(message);
  });

  it("reads an absent root as missing (no account during find)", () => {
    expect(() => renderText(parseTemplate("{{account.id}}"), { vars: {}, secrets: {} })).toThrow("{{account.id}} has no value here");
  });

  it("percent-encodes each value for a path, and only the values", () => {
    const hostile = { ...scope, account: { id: "../../admin?x=1#frag", data: {} } };
    expect(renderText(parseTemplate("/users/{{account.id}}/teams/{{intent.entitlement}}"), hostile, { encode: encodeURIComponent }))
      .toBe("/users/..%2F..%2Fadmin%3Fx%3D1%23frag/teams/billing%20admins");
  });
});

describe("template parsing", () => {
  test.each([
    ["{{user.name}}", "must start with one of subject, account, intent, vars, secrets, now"],
    ["{{subject.userName", '"{{" is not closed by "}}"'],
    ["a }} b", '"}}" without "{{"'],
    ["{{subject..x}}", 'expected a name after "."'],
    ["{{subject.extensions[urn:x]}}", 'expected [n] or ["name"]'],
    ["{{subject.userName | lower}}", 'unexpected " "'],
    ["{{now.year}}", "now has no members"],
    ["{{}}", "must start with one of"],
  ])("%j is refused: %s", (source, message) => {
    expect(() => parseTemplate(source)).toThrow(TemplateError);
    expect(() => parseTemplate(source)).toThrow(message);
  });

  it("finds the closing braces after a quoted name that contains }}", () => {
    const template = parseTemplate('{{subject.extensions["urn:}}"].x}}!');
    expect(template.parts).toEqual([{ expr: { source: 'subject.extensions["urn:}}"].x', root: "subject", segments: [{ key: "extensions" }, { key: "urn:}}" }, { key: "x" }] } }, { text: "!" }]);
  });
});

describe("templates as JSON values (bodies, expected values)", () => {
  const json = (value: unknown) => {
    const problems = new Problems();
    const template = parseJsonTemplate(value, "body", "body", problems, []);
    expect(problems.list).toEqual([]);
    return renderJson(template, scope);
  };

  it("keeps a whole placeholder's JSON type and interpolates text around one", () => {
    expect(json({
      status: "disabled",
      seats: "{{account.data.seats}}",
      emails: "{{subject.emails}}",
      manager: "{{subject.enterprise.manager}}",
      note: "offboarded {{subject.userName}} for {{vars.org}}",
      nested: [{ id: "{{account.id}}" }, 7, true, null],
    })).toEqual({
      status: "disabled",
      seats: 3,
      emails: ["ada@example.com", "ada.l@example.org"],
      manager: { value: "m-7" },
      note: "offboarded ada@example.com for acme",
      nested: [{ id: "u 1/2" }, 7, true, null],
    });
  });

  it("puts a hostile value in as a JSON string, never as JSON text", () => {
    const hostile = { ...scope, account: { id: '", "role": "owner", "x": "', data: {} } };
    const problems = new Problems();
    const body = renderJson(parseJsonTemplate({ id: "{{account.id}}", note: "id {{account.id}}" }, "body", "body", problems, []), hostile);
    expect(body).toEqual({ id: '", "role": "owner", "x": "', note: 'id ", "role": "owner", "x": "' });
    expect(Object.keys(JSON.parse(JSON.stringify(body)) as object)).toEqual(["id", "note"]);
  });

  it("does not template keys", () => {
    expect(json({ "{{vars.org}}": 1 })).toEqual({ "{{vars.org}}": 1 });
  });

  it("renders a single placeholder's value by renderValue and errors on a missing one", () => {
    expect(renderValue(parseTemplate("{{account.data.seats}}"), scope)).toBe(3);
    expect(() => renderValue(parseTemplate("{{subject.externalId}}"), scope)).toThrow("{{subject.externalId}} has no value here");
  });

  it("names the path of each bad template in a body", () => {
    const problems = new Problems();
    parseJsonTemplate({ a: ["ok", "{{nope}}"], "b.c": "{{subject.x" }, "body", "body", problems, []);
    expect(problems.list).toEqual([
      "body.a[1] has a bad template: {{nope}} must start with one of subject, account, intent, vars, secrets, now",
      'body["b.c"] has a bad template: "{{" is not closed by "}}" in "{{subject.x"',
    ]);
  });
});
