import { evaluate, parseCondition, statusesOf, type Answer, type Condition } from "./conditions.js";
import { Problems } from "./problems.js";
import type { TemplateScope } from "./template.js";

const scope: TemplateScope = { vars: { org: "acme" }, secrets: {}, intent: { kind: "revoke-entitlement", entitlement: "eng" } };

function condition(input: unknown): Condition {
  const problems = new Problems();
  const parsed = parseCondition(input, "c", problems, []);
  expect(problems.list).toEqual([]);
  return parsed!;
}

const user = { id: "u-1", active: false, sessions: 0, teams: ["ops"], name: "Ada", note: null, tags: {}, list: [] };
const ok: Answer = { status: 200, body: user };

describe("condition evaluation", () => {
  test.each<[string, unknown, Answer, boolean, string[]]>([
    ["a status", { status: 200 }, ok, true, []],
    ["another status", { status: 404 }, ok, false, []],
    ["a status list", { status: [204, 404] }, { status: 404, body: null }, true, []],
    ["2xx", { status: "2xx" }, { status: 204, body: null }, true, []],
    ["2xx against a 404", { status: "2xx" }, { status: 404, body: null }, false, []],
    ["equals false", { jsonPath: "$.active", equals: false }, ok, true, ["$.active=false"]],
    ["equals is type-strict", { jsonPath: "$.active", equals: "false" }, ok, false, ["$.active=false"]],
    ["equals on a missing value", { jsonPath: "$.gone", equals: null }, ok, false, ["$.gone missing"]],
    ["equals null", { jsonPath: "$.note", equals: null }, ok, true, ["$.note=null"]],
    ["equals a list deeply", { jsonPath: "$.teams", equals: ["ops"] }, ok, true, ['$.teams=["ops"]']],
    ["in", { jsonPath: "$.name", in: ["Ada", "Bob"] }, ok, true, ['$.name="Ada"']],
    ["in, no match", { jsonPath: "$.name", in: ["Bob"] }, ok, false, ['$.name="Ada"']],
    ["contains in a list", { jsonPath: "$.teams", contains: "ops" }, ok, true, ['$.teams=["ops"]']],
    ["contains in text", { jsonPath: "$.name", contains: "d" }, ok, true, ['$.name="Ada"']],
    ["contains on a missing value", { jsonPath: "$.gone", contains: "ops" }, ok, false, ["$.gone missing"]],
    ["excludes a templated value", { jsonPath: "$.teams", excludes: "{{intent.entitlement}}" }, ok, true, ['$.teams=["ops"]']],
    ["excludes what is there", { jsonPath: "$.teams", excludes: "ops" }, ok, false, ['$.teams=["ops"]']],
    ["excludes on a missing value (never proof)", { jsonPath: "$.gone", excludes: "eng" }, ok, false, ["$.gone missing"]],
    ["excludes on a number (never proof)", { jsonPath: "$.sessions", excludes: "eng" }, ok, false, ["$.sessions=0"]],
    ["exists", { jsonPath: "$.id", exists: true }, ok, true, ['$.id="u-1"']],
    ["exists on null", { jsonPath: "$.note", exists: true }, ok, false, ["$.note=null"]],
    ["exists: false on null", { jsonPath: "$.note", exists: false }, ok, true, ["$.note=null"]],
    ["exists: false on a missing value", { jsonPath: "$.gone", exists: false }, ok, true, ["$.gone missing"]],
    ["empty list", { jsonPath: "$.list", empty: true }, ok, true, ["$.list=[]"]],
    ["empty object", { jsonPath: "$.tags", empty: true }, ok, true, ["$.tags={}"]],
    ["empty: false on a list with items", { jsonPath: "$.teams", empty: false }, ok, true, ['$.teams=["ops"]']],
    ["empty on a missing value (neither)", { jsonPath: "$.gone", empty: true }, ok, false, ["$.gone missing"]],
    ["empty: false on a missing value (neither)", { jsonPath: "$.gone", empty: false }, ok, false, ["$.gone missing"]],
    ["status and a value together", { status: 200, jsonPath: "$.active", equals: false }, ok, true, ["$.active=false"]],
    ["status and a value, status wrong", { status: 201, jsonPath: "$.active", equals: false }, ok, false, ["$.active=false"]],
    ["all", { all: [{ jsonPath: "$.active", equals: false }, { jsonPath: "$.sessions", equals: 0 }] }, ok, true, ["$.active=false", "$.sessions=0"]],
    ["all, one fails", { all: [{ jsonPath: "$.active", equals: false }, { jsonPath: "$.sessions", equals: 1 }] }, ok, false, ["$.active=false", "$.sessions=0"]],
    ["any shows the branches that held", { any: [{ jsonPath: "$.active", equals: true }, { jsonPath: "$.sessions", equals: 0 }] }, ok, true, ["$.sessions=0"]],
    ["any, none holds", { any: [{ jsonPath: "$.active", equals: true }, { status: 404 }] }, ok, false, ["$.active=false"]],
    ["not", { not: { jsonPath: "$.sessions", equals: 2 } }, ok, true, ["$.sessions=0"]],
    ["not on a missing value holds", { not: { jsonPath: "$.gone", equals: 2 } }, ok, true, ["$.gone missing"]],
    ["a templated expected value", { jsonPath: "$.org", equals: "{{vars.org}}" }, { status: 200, body: { org: "acme" } }, true, ['$.org="acme"']],
    ["a text body", { jsonPath: "$", equals: "OK" }, { status: 200, body: "OK" }, true, ['$="OK"']],
  ])("%s", (_, input, answer, holds, observed) => {
    expect(evaluate(condition(input), answer, scope)).toEqual({ holds, observed });
  });

  it("shortens a long observed value", () => {
    const answer = { status: 200, body: { text: "x".repeat(100) } };
    expect(evaluate(condition({ jsonPath: "$.text", exists: true }), answer, scope).observed[0]).toBe(`$.text="${"x".repeat(56)}…`);
  });
});

describe("condition parsing", () => {
  test.each([
    ["not an object", 200, "c must be a condition object"],
    ["empty", {}, "c is empty: give a status, a jsonPath with an operator, all, any or not"],
    ["a typo", { status: 200, equal: 1 }, "c.equal is not a known key; expected one of status, jsonPath, equals, in, contains, excludes, exists, empty, all, any, not"],
    ["a bad status", { status: 700 }, 'c.status must be a status (100–599), "2xx" or a list of them, got 700'],
    ["a status class we do not have", { status: "4xx" }, 'c.status must be a status (100–599), "2xx" or a list of them, got "4xx"'],
    ["an empty status list", { status: [] }, "c.status must name at least one status"],
    ["a path without an operator", { jsonPath: "$.a" }, "c needs exactly one of equals, in, contains, excludes, exists, empty with jsonPath"],
    ["two operators", { jsonPath: "$.a", equals: 1, in: [1] }, "c needs exactly one of equals, in, contains, excludes, exists, empty with jsonPath, got equals and in"],
    ["an operator without a path", { equals: 1 }, "c equals needs a jsonPath saying which value to compare"],
    ["a bad path", { jsonPath: "a.b", equals: 1 }, 'c.jsonPath must start with "$"'],
    ["exists not boolean", { jsonPath: "$.a", exists: "yes" }, "c.exists must be true or false"],
    ["in not a list", { jsonPath: "$.a", in: "x" }, "c.in must be a non-empty list of values"],
    ["all not a list", { all: { status: 200 } }, "c.all must be a non-empty list of conditions"],
    ["a bad nested condition", { any: [{ status: 200 }, { jsonPth: "$.a" }] }, "c.any[1].jsonPth is not a known key"],
    ["a bad template in an expected value", { jsonPath: "$.a", equals: "{{vars.x" }, 'c.equals has a bad template: "{{" is not closed'],
  ])("refuses %s", (_, input, message) => {
    const problems = new Problems();
    expect(parseCondition(input, "c", problems, [])).toBeNull();
    expect(problems.list.join("\n")).toContain(message);
  });

  it("refuses not where the options say so, and statuses the options refuse", () => {
    const problems = new Problems();
    parseCondition({ status: 429, not: { status: 200 } }, "c", problems, [], { refuseNot: "is refused here", allowStatus: (s) => (s === 429 ? "must not name 429" : null) });
    expect(problems.list).toEqual(["c.status must not name 429", "c.not is refused here"]);
  });

  it("lists the non-2xx statuses a condition names, nested ones included", () => {
    expect(statusesOf(condition({ status: [200, 404], any: [{ status: 409 }, { not: { status: "2xx" } }] }))).toEqual([404, 409]);
  });
});
