import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { join } from "node:path";
import { targetFile } from "../../src/cli/targets.js";
import { parsePolicy } from "../../src/engine/policy.js";
import { PROJECT_ROOT } from "../../src/paths.js";
import { readTargetFile, type HttpTargetConfig } from "../../test/support/peers/rest-peer.js";
import { compileConfig } from "./definition.js";
import connector from "./index.js";

/** A config the cases edit freely. */
type Config = Record<string, any>;

const example = (name = "fake-target.yaml"): HttpTargetConfig => readTargetFile(name).config;
const fakeTarget = example();
const base = (): Config => ({ ...structuredClone(fakeTarget), baseUrl: "https://api.example.com/v1", secrets: { token: "t0ken-value" } });
const problemsOf = (change: (c: Config) => void): string[] => {
  const config = base();
  change(config);
  return connector.checkConfig(config);
};

describe("checkConfig", () => {
  test.each(["fake-target.yaml", "members-api.yaml"])("accepts the shipped example %s", (name) => {
    expect(connector.checkConfig(example(name))).toEqual([]);
  });

  test.each(["fake-target.yaml", "members-api.yaml"])("the CLI reads %s into a config it accepts and a valid policy", async (name) => {
    const { config, policy } = await targetFile(join(PROJECT_ROOT, "connectors", "http", "examples", name));
    expect(connector.checkConfig(config)).toEqual([]);
    expect(config).toEqual(example(name));
    expect(parsePolicy(policy).problems).toEqual([]);
  });

  it("accepts the complete target file in README.md, policy included", () => {
    const readme = readFileSync(new URL("./README.md", import.meta.url), "utf8");
    const block = /### A complete target file\s+```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    const { policy, ...config } = parse(block!) as Record<string, unknown>;
    expect(connector.checkConfig(config)).toEqual([]);
    expect(parsePolicy(policy).problems).toEqual([]);
  });

  it("accepts a read-only POST search, http to a private host when allowed, and a probe list", () => {
    expect(problemsOf((c) => {
      c.baseUrl = "http://members.internal:8080/api";
      c.allowInsecureHttp = true;
      c.definition.find.request = { method: "POST", readOnly: true, path: "/users/search", body: { userName: "{{subject.userName}}" } };
      c.definition.verify.delete = [c.definition.verify.delete, c.definition.verify.delete];
    })).toEqual([]);
  });

  it("names every problem at once", () => {
    const problems = problemsOf((c) => {
      c.definition.plans.deactivate[1].request.method = "FETCH";
      delete c.definition.find.absent;
    });
    expect(problems).toEqual([
      "definition.find.absent must be a condition object, e.g. {status: 200} or {jsonPath: \"$.active\", equals: false}",
      "definition.plans.deactivate[1].request.method must be one of POST, PUT, PATCH, DELETE",
    ]);
  });

  test.each<[string, (c: Config) => void, string]>([
    // the config around the definition
    ["a missing baseUrl", (c) => delete c.baseUrl, "baseUrl is required: the API root, e.g. https://api.example.com/v2"],
    ["a relative baseUrl", (c) => (c.baseUrl = "api.example.com"), 'baseUrl must be an absolute URL such as https://api.example.com/v2, got "api.example.com"'],
    ["plain http to a remote host", (c) => (c.baseUrl = "http://api.example.com"), "baseUrl must be https:// (secrets would cross the network in clear)"],
    ["another scheme", (c) => (c.baseUrl = "ftp://api.example.com"), "baseUrl must be an https:// URL"],
    ["credentials in the baseUrl", (c) => (c.baseUrl = "https://me:pw@api.example.com"), "baseUrl must not carry credentials; put them in secrets"],
    ["a query in the baseUrl", (c) => (c.baseUrl = "https://api.example.com/?key=1"), "baseUrl must not have a query or fragment"],
    ["an unknown top-level key", (c) => (c.secret = { token: "x" }), "config.secret is not a known key; expected one of baseUrl, vars, secrets, allowInsecureHttp, definition"],
    ["a var that is an object", (c) => (c.vars = { org: { id: 1 } }), "vars.org must be a string, number or boolean"],
    ["an empty secret", (c) => (c.secrets.token = ""), "secrets.token must be a non-empty string"],
    ["allowInsecureHttp as text", (c) => (c.allowInsecureHttp = "yes"), "allowInsecureHttp must be true or false"],
    ["no definition", (c) => delete c.definition, "definition is required: an object with validate, find, plans and verify"],
    ["an unknown definition key", (c) => (c.definition.plan = {}), "definition.plan is not a known key"],
    // sections
    ["no validate", (c) => delete c.definition.validate, 'definition.validate is required: an object with a request and its conditions (see connectors/http/README.md "validate")'],
    ["no find", (c) => delete c.definition.find, "definition.find is required"],
    ["no deactivate plan", (c) => delete c.definition.plans.deactivate, "definition.plans.deactivate is required: the steps that disable the account"],
    ["an empty plan", (c) => (c.definition.plans.delete = []), "definition.plans.delete must be a non-empty list of steps"],
    ["an unknown intent", (c) => (c.definition.plans.suspend = []), "definition.plans.suspend is not a known key; expected one of deactivate, delete, revoke-entitlement"],
    ["no verify for a plan", (c) => delete c.definition.verify.delete, "definition.verify.delete is required: the read that shows the delete plan's effect"],
    ["a probe without its plan", (c) => delete c.definition.plans["revoke-entitlement"], "definition.verify.revoke-entitlement has no plans.revoke-entitlement to verify; add the plan or remove this probe"],
    // requests
    ["a method we do not send", (c) => (c.definition.plans.deactivate[1].request.method = "FETCH"), "definition.plans.deactivate[1].request.method must be one of POST, PUT, PATCH, DELETE"],
    ["a step that only reads", (c) => (c.definition.plans.deactivate[0].request.method = "GET"), "definition.plans.deactivate[0].request.method must be one of POST, PUT, PATCH, DELETE: a step changes something (reads belong in verify)"],
    ["a find that writes", (c) => (c.definition.find.request.method = "DELETE"), "definition.find.request.method must be GET here: this request only reads"],
    ["a POST probe not marked read-only", (c) => (c.definition.verify.delete.request.method = "POST"), "definition.verify.delete.request.method must be GET here"],
    ["readOnly on a step", (c) => (c.definition.plans.delete[1].readOnly = true), "definition.plans.delete[1].readOnly is not a known key"],
    ["a path without a leading slash", (c) => (c.definition.verify.delete.request.path = "users/{{account.id}}"), 'definition.verify.delete.request.path must be a path starting with "/"'],
    ["a query string in the path", (c) => (c.definition.validate.request.path = "/users?userName=x"), "definition.validate.request.path must not contain ? or #: put query parameters under query"],
    ["a dot segment in the path", (c) => (c.definition.validate.request.path = "/users/%2E%2E/admin"), 'definition.validate.request.path must not contain "." or ".." segments'],
    ["a bad header name", (c) => (c.definition.headers["x bad"] = "1"), 'definition.headers["x bad"] is not a valid header name'],
    ["a body on a GET", (c) => (c.definition.verify.delete.request.body = { a: 1 }), "definition.verify.delete.request.body is not sent with GET"],
    ["a huge timeout", (c) => (c.definition.verify.delete.request.timeoutMs = 120_000), "definition.verify.delete.request.timeoutMs must be a whole number of milliseconds from 1 to 60000"],
    ["a bad template", (c) => (c.definition.verify.delete.request.path = "/users/{{account.id"), 'definition.verify.delete.request.path has a bad template: "{{" is not closed by "}}"'],
    // steps
    ["a step name that is not kebab-case verb-noun", (c) => (c.definition.plans.deactivate[1].name = "suspend"), 'definition.plans.deactivate[1].name must be a kebab-case verb and noun, e.g. "suspend-user"'],
    ["a step name twice", (c) => (c.definition.plans.deactivate[1].name = "revoke-sessions"), 'definition.plans.deactivate[1].name repeats "revoke-sessions": step names are unique within a plan'],
    ["a step without done", (c) => delete c.definition.plans.delete[1].done, "definition.plans.delete[1].done is required"],
    ["a misspelt alreadyDone", (c) => (c.definition.plans.delete[1].alredyDone = { status: 404 }), "definition.plans.delete[1].alredyDone is not a known key; expected one of request, errors, done, alreadyDone, name, observable"],
    ["observable: true", (c) => (c.definition.plans.delete[1].observable = true), "definition.plans.delete[1].observable may only be false"],
    ["an entitlement step that ignores the entitlement", (c) => (c.definition.plans["revoke-entitlement"][0].request.path = "/users/{{account.id}}/teams"), "definition.plans.revoke-entitlement[0].request must use {{intent.entitlement}}"],
    ["an entitlement probe that ignores the entitlement", (c) => (c.definition.verify["revoke-entitlement"] = c.definition.verify.delete), "definition.verify.revoke-entitlement must use {{intent.entitlement}}"],
    // conditions
    ["429 as an answer", (c) => (c.definition.find.absent = { status: [404, 429] }), "definition.find.absent.status must not name 429: it is always rate-limited"],
    ["401 as an answer", (c) => (c.definition.verify.delete.revoked = { status: 401 }), "definition.verify.delete.revoked.status must not name 401: it means the credentials lack access (auth)"],
    ["503 as an answer", (c) => (c.definition.plans.delete[1].alreadyDone = { status: 503 }), "definition.plans.delete[1].alreadyDone.status must not name 503: 5xx is retried"],
    ["not in revoked", (c) => (c.definition.verify.delete.revoked = { status: 200, not: { jsonPath: "$.active", equals: true } }), "definition.verify.delete.revoked.not is refused here: a missing or unexpected value would then count as proof"],
    ["not in absent", (c) => (c.definition.find.absent = { not: { status: 200 } }), "definition.find.absent.not is refused here"],
    ["a bad JSON path", (c) => (c.definition.find.found.jsonPath = "id"), 'definition.find.found.jsonPath must start with "$"'],
    // errors rules
    ["an error rule with an unknown kind", (c) => (c.definition.errors = [{ when: { status: 403 }, kind: "throttled" }]), "definition.errors[0].kind must be one of retryable, rate-limited, auth, permanent"],
    ["a wait on a rule that is not rate-limited", (c) => (c.definition.errors = [{ when: { status: 409 }, kind: "retryable", retryAfterMs: 5 }]), "definition.errors[0].retryAfterMs must be a whole number of milliseconds ≥ 0, on a rate-limited rule"],
    ["errors that are not a list", (c) => (c.definition.find.errors = { when: { status: 403 } }), "definition.find.errors must be a list of {when, kind, message?, retryAfterMs?}"],
    // capture
    ["no capture", (c) => delete c.definition.find.capture, 'definition.find.capture is required: {id: "$.id", data?: {name: "$.path" | "{{subject.…}}"}}'],
    ["a capture id that is not a path", (c) => (c.definition.find.capture.id = "id"), 'definition.find.capture.id must start with "$"'],
    ["captured data that is neither path nor template", (c) => (c.definition.find.capture.data.kind = "user"), 'definition.find.capture.data.kind must be a JSON path ("$.…") or a template ("{{subject.…}}")'],
    // what templates may use where
    ["an undefined var", (c) => (c.definition.validate.request.path = "/orgs/{{vars.org}}/users"), "definition.validate.request.path uses {{vars.org}}, which is not defined under vars in the config"],
    ["an undefined secret", (c) => (c.definition.headers.authorization = "Bearer {{secrets.apiKey}}"), "definition.headers.authorization uses {{secrets.apiKey}}, which is not defined under secrets in the config"],
    ["a secret in a path", (c) => (c.definition.validate.request.path = "/keys/{{secrets.token}}"), "definition.validate.request.path uses {{secrets.token}}, which puts a secret where it could show in errors, evidence or stored data; send it in a header (or the query)"],
    ["a secret in a condition", (c) => (c.definition.validate.ok = { jsonPath: "$.key", equals: "{{secrets.token}}" }), "definition.validate.ok.equals uses {{secrets.token}}, which puts a secret where it could show"],
    ["a secret in captured data", (c) => (c.definition.find.capture.data.key = "{{secrets.token}}"), "definition.find.capture.data.key uses {{secrets.token}}, which puts a secret where it could show"],
    ["the subject in a step", (c) => (c.definition.plans.delete[1].request.path = "/users/{{subject.userName}}"), "definition.plans.delete[1].request.path uses {{subject.userName}}, which is only known in find; capture it there"],
    ["an unknown subject field", (c) => (c.definition.find.request.query.userName = "{{subject.login}}"), "definition.find.request.query.userName uses {{subject.login}}, which is not a subject field; use one of id, connectionId, userName, externalId, displayName, emails, enterprise, extensions"],
    ["the account in find", (c) => (c.definition.find.request.query.id = "{{account.id}}"), "definition.find.request.query.id uses {{account.id}}, which is not known yet: the account is what find captures"],
    ["account data find does not capture", (c) => (c.definition.verify.delete.request.path = "/users/{{account.data.login}}"), "definition.verify.delete.request.path uses {{account.data.login}}, which is not captured by find.capture.data (captured: userName)"],
    ["the entitlement outside revoke-entitlement", (c) => (c.definition.plans.delete[1].request.path = "/teams/{{intent.entitlement}}"), "definition.plans.delete[1].request.path uses {{intent.entitlement}}, which only has a value for revoke-entitlement"],
    ["the intent in validate", (c) => (c.definition.validate.request.query.kind = "{{intent.kind}}"), "definition.validate.request.query.kind uses {{intent.kind}}, which is not known in validate"],
  ])("names %s", (_, change, expected) => {
    const problems = problemsOf(change);
    expect(problems).toContainEqual(expect.stringContaining(expected));
  });

  /** Every path in a JSON value, as key lists. */
  const pathsOf = (value: unknown, at: (string | number)[] = []): (string | number)[][] =>
    typeof value !== "object" || value === null ? [at]
    : [at, ...Object.entries(value).flatMap(([k, v]) => pathsOf(v, [...at, Array.isArray(value) ? Number(k) : k]))];

  it("answers problems, never throws, whatever shape any part of the config has", () => {
    const paths = pathsOf(base()).filter((p) => p.length > 0);
    expect(paths.length).toBeGreaterThan(100);
    const odd: string[] = [];
    for (const path of paths) {
      for (const junk of [null, 7, "x", "{{", [], {}, [null], true]) {
        const config = base();
        let parent: any = config;
        for (const key of path.slice(0, -1)) parent = parent[key];
        parent[path.at(-1)!] = junk;
        const problems = connector.checkConfig(config);
        if (!Array.isArray(problems) || problems.some((p) => typeof p !== "string")) odd.push(path.join("."));
      }
    }
    expect(odd).toEqual([]);
  });

  it("compiles the statuses conditions name into what each request accepts", () => {
    const { compiled } = compileConfig(example());
    expect(compiled!.find.accept).toEqual([404]);
    expect(compiled!.plans.deactivate!.map((s) => [s.name, s.accept])).toEqual([["revoke-sessions", [404]], ["suspend-user", [404]]]);
    expect(compiled!.validate.accept).toEqual([404]);
  });
});
