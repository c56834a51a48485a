import { JsonPathError, lookup, parseJsonPath } from "./json-path.js";

const body = {
  id: "u-1",
  active: false,
  sessions: 0,
  "first-name": "Ada",
  data: [{ id: "m_1", roles: ["viewer"] }, { id: "m_2" }],
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { employeeNumber: "E42" },
  "it's": { 'say "hi"': 1 },
  nothing: null,
  length: 3,
  obj: { length: "member" },
};

describe("JSON path lookup", () => {
  test.each([
    ["$", body],
    ["$.id", "u-1"],
    ["$.active", false],
    ["$.sessions", 0],
    ["$.first-name", "Ada"],
    ["$.data[0].id", "m_1"],
    ["$.data[1].id", "m_2"],
    ["$.data[-1].id", "m_2"],
    ["$.data[0].roles[0]", "viewer"],
    ["$.data.length", 2],
    ["$.data[0].roles.length", 1],
    ["$.id.length", 3],
    ["$.obj.length", "member"],
    ['$["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].employeeNumber', "E42"],
    ["$['it\\'s'][\"say \\\"hi\\\"\"]", 1],
    ["$.nothing", null],
  ])("%s reads %j", (path, expected) => {
    expect(lookup(parseJsonPath(path), body)).toEqual({ found: true, value: expected });
  });

  test.each([
    ["$.missing"],
    ["$.data[2]"],
    ["$.data[-3]"],
    ["$.id.more"],
    ["$.data.id"],
    ["$.sessions[0]"],
    ["$.nothing.x"],
    ["$.active.length"],
    ["$.toString"],
    ["$.__proto__"],
  ])("%s finds nothing", (path) => {
    expect(lookup(parseJsonPath(path), body)).toEqual({ found: false });
  });

  it("reads a text body and a null (empty) body at $", () => {
    expect(lookup(parseJsonPath("$.length"), "ok")).toEqual({ found: true, value: 2 });
    expect(lookup(parseJsonPath("$"), null)).toEqual({ found: true, value: null });
    expect(lookup(parseJsonPath("$.id"), null)).toEqual({ found: false });
  });
});

describe("JSON path parsing", () => {
  test.each([
    ["id", 'must start with "$"'],
    ["", 'must start with "$"'],
    ["$.", 'expected a member name after "."'],
    ["$.1abc", 'expected a member name after "."'],
    ["$[abc]", 'expected [n] or ["name"]'],
    ['$["open', 'expected [n] or ["name"]'],
    ["$[1.5]", 'expected [n] or ["name"]'],
    ["$..id", 'expected a member name after "."'],
    ["$.data[*]", 'expected [n] or ["name"]'],
    ["$.a b", 'unexpected " "'],
    ["$.a[?(@.x)]", 'expected [n] or ["name"]'],
  ])("%j is refused: %s", (path, message) => {
    expect(() => parseJsonPath(path)).toThrow(JsonPathError);
    expect(() => parseJsonPath(path)).toThrow(message);
  });
});
