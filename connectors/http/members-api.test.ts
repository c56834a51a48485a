import type { Intent, Subject } from "../../src/connector-kit.js";
import { plainContext } from "../../test/support/fake-target/plain-http.js";
import { listApiPeer, type ListApiPeer } from "../../test/support/peers/rest-list-api.js";
import type { HttpTargetConfig } from "../../test/support/peers/rest-peer.js";
import connector, { definitionSteps, type HttpConfig } from "./index.js";
import { targetErrorOf as errorOf } from "../../test/support/target-error-of.js";

const ACME = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";


let peer: ListApiPeer;
beforeAll(async () => { peer = await listApiPeer(); });
afterAll(async () => { await peer.close(); });

const ctx = (intent: Intent = { kind: "deactivate" }, config: HttpTargetConfig = peer.config) => plainContext(config as HttpConfig, intent);
const subject = (email: string, extra: Partial<Subject> = {}): Subject => ({ connectionId: "c-1", id: `s-${email}`, userName: email, emails: [email], ...extra });
const last = () => peer.api.received.at(-1)!;
/** The members example with a change to its definition. */
const edited = (change: (definition: Record<string, any>, config: HttpTargetConfig) => void): HttpTargetConfig => {
  const config = structuredClone(peer.config);
  change(config.definition, config);
  expect(connector.checkConfig(config)).toEqual([]);
  return config;
};

describe("the members API example (a list lookup, PATCH to disable, an API key)", () => {
  it("finds the one member with the subject's first email, sent encoded in the query", async () => {
    const email = "o'brien+test&x=1@example.com";
    const member = peer.api.seed({ email });
    expect(await connector.findAccount(subject(email), ctx())).toEqual({ id: member.id, data: { email } });
    expect(last()).toMatchObject({ method: "GET", rawPath: "/api/v2/members", query: { email }, headers: { "x-api-key": peer.api.apiKey } });
  });

  it("answers null for an empty list", async () => {
    expect(await connector.findAccount(subject("nobody@example.com"), ctx())).toBeNull();
  });

  it("refuses to pick one of two members with the same email", async () => {
    peer.api.seed({ email: "twin@example.com" });
    peer.api.seed({ email: "twin@example.com" });
    const error = await errorOf(connector.findAccount(subject("twin@example.com"), ctx()));
    expect(error.kind).toBe("permanent");
    expect(error.message).toMatch(/^GET \/members answered 200, which matches none of found, absent \(definition\.find\): \{"data":\[\{"id":"m_\d+","name":"twin","status":"active","roles":\[\],"email":"\[email\]"\}/);
  });

  it("disables by PATCH {status: disabled}, and a repeat's 409 already_disabled is already-done", async () => {
    const member = peer.api.seed({ email: "dora@example.com" });
    const account = (await connector.findAccount(subject(member.email), ctx()))!;
    const steps = definitionSteps(peer.config as HttpConfig, "deactivate");
    expect(steps.map((s) => [s.name, s.observable])).toEqual([["sign-out-sessions", false], ["disable-member", undefined]]);
    const disable = steps[1]!;
    expect(await disable.run(account, ctx())).toBe("done");
    expect(last()).toMatchObject({ method: "PATCH", rawPath: `/api/v2/members/${member.id}`, body: { status: "disabled" } });
    expect(await disable.run(account, ctx())).toBe("already-done");
    expect(await connector.verify(account, ctx())).toEqual({ revoked: true, evidence: `GET /members/${member.id} → 200, $.data.status="disabled"` });
  });

  it("throws rather than guess when the member's status is one the definition does not know", async () => {
    const member = peer.api.seed({ email: "sus@example.com", status: "suspended" });
    const error = await errorOf(connector.verify({ id: member.id }, ctx()));
    expect(error.kind).toBe("permanent");
    expect(error.message).toContain(`GET /members/${member.id} answered 200, which matches none of revoked, notRevoked (definition.verify.deactivate)`);
  });

  describe("answers the errors rules and the default classifier map", () => {
    test.each<[string, { status: number; body?: unknown; headers?: Record<string, string> }, string, number | undefined]>([
      ["a 403 quota error is rate-limited, waiting the rule's 60 s", { status: 403, body: { error: { code: "rate_limit_exceeded" } } }, "rate-limited", 60_000],
      ["a 403 quota error with Retry-After waits that long", { status: 403, body: { error: { code: "rate_limit_exceeded" } }, headers: { "retry-after": "5" } }, "rate-limited", 5_000],
      ["another 403 is auth", { status: 403, body: { error: { code: "forbidden" } } }, "auth", undefined],
      ["a 429 with Retry-After is rate-limited", { status: 429, headers: { "retry-after": "2" } }, "rate-limited", 2_000],
      ["a 500 is retryable", { status: 500, body: { error: { code: "oops" } } }, "retryable", undefined],
      ["a 404 the conditions do not name is permanent", { status: 404, body: { error: { code: "not_found" } } }, "permanent", undefined],
      ["a 422 is permanent", { status: 422, body: { error: { code: "invalid_status" } } }, "permanent", undefined],
    ])("%s", async (_, reply, kind, retryAfterMs) => {
      peer.api.answerNext(reply);
      const error = await errorOf(connector.findAccount(subject("any@example.com"), ctx()));
      expect({ kind: error.kind, status: error.detail.status, retryAfterMs: error.detail.retryAfterMs }).toEqual({ kind, status: reply.status, retryAfterMs });
    });

    it("checks the rules before the outcome conditions, so a 200 that reports an error is one", async () => {
      const config = edited((d) => {
        d.find.errors = [{ when: { status: 200, jsonPath: "$.ok", equals: false }, kind: "retryable", message: "the API answered ok: false" }];
      });
      peer.api.answerNext({ status: 200, body: { ok: false, data: [{ id: "m_1", email: "any@example.com" }] } });
      const error = await errorOf(connector.findAccount(subject("any@example.com"), ctx(undefined, config)));
      expect({ kind: error.kind, message: error.message }).toEqual({ kind: "retryable", message: "GET /members answered 200: the API answered ok: false (definition.find.errors[0])" });
    });

    it("names the rule that matched, with its message", async () => {
      peer.api.answerNext({ status: 403, body: { error: { code: "rate_limit_exceeded" } } });
      const error = await errorOf(connector.validate(ctx()));
      expect(error.message).toBe("GET /me answered 403: the API key's quota is used up (definition.errors[0])");
    });
  });

  it("never shows the API key, even when an answer echoes it", async () => {
    const member = peer.api.seed({ email: "echo@example.com" });
    peer.api.answerNext({ status: 200, body: { data: { id: member.id, status: "weird", debug: `key=${peer.api.apiKey}` } } });
    const error = await errorOf(connector.verify({ id: member.id }, ctx()));
    expect(error.message).toContain("key=[secret]");
    expect(error.message).not.toContain(peer.api.apiKey);
  });

  it("keeps a hostile account id inside its path segment", async () => {
    peer.api.seed({ email: "victim@example.com" });
    const [signOut] = definitionSteps(peer.config as HttpConfig, "deactivate");
    const before = peer.api.received.length;
    expect(await signOut!.run({ id: "../../me" }, ctx())).toBe("already-done"); // no member has that id: 404
    expect(peer.api.received[before]!.rawPath).toBe("/api/v2/members/..%2F..%2Fme/sessions/revoke");
    const dots = await errorOf(signOut!.run({ id: ".." }, ctx()));
    expect(dots.message).toBe('definition.plans.deactivate[0].request.path: a value made a "." or ".." segment; refused so the request cannot reach another resource');
    expect(peer.api.received.length).toBe(before + 1);
  });
});

describe("a definition reading enterprise and extension attributes", () => {
  const byMemberId = () =>
    edited((d) => {
      d.find = {
        request: { path: `/members/{{subject.extensions["${ACME}"].memberId}}` },
        found: { status: 200, jsonPath: "$.data.id", exists: true },
        absent: { status: 404 },
        capture: { id: "$.data.id", data: { employeeNumber: "{{subject.enterprise.employeeNumber}}", costCenter: `{{subject.extensions["${ACME}"].costCenter}}` } },
      };
      d.plans.deactivate[1].request.body = { status: "disabled", employee_number: "{{account.data.employeeNumber}}", cost_center: "{{account.data.costCenter}}", note: "offboarded at {{now}}" };
    });

  it("finds by an extension attribute, captures subject attributes and sends them as JSON values", async () => {
    const member = peer.api.seed({ email: "ext@example.com" });
    const person = subject("ext@example.com", { enterprise: { employeeNumber: "E-7" }, extensions: { [ACME]: { memberId: member.id, costCenter: 4100 } } });
    const config = byMemberId();
    const account = (await connector.findAccount(person, ctx(undefined, config)))!;
    expect(account).toEqual({ id: member.id, data: { employeeNumber: "E-7", costCenter: 4100 } });
    const now = new Date("2024-05-01T10:00:00.000Z");
    await definitionSteps(config as HttpConfig, "deactivate")[1]!.run(account, { ...ctx(undefined, config), now: () => now });
    expect(last().body).toEqual({ status: "disabled", employee_number: "E-7", cost_center: 4100, note: "offboarded at 2024-05-01T10:00:00.000Z" });
  });

  it("fails permanently, naming the template, when the subject lacks the attribute", async () => {
    const before = peer.api.received.length;
    const error = await errorOf(connector.findAccount(subject("plain@example.com"), ctx(undefined, byMemberId())));
    expect(error.kind).toBe("permanent");
    expect(error.message).toBe(`definition.find.request.path: {{subject.extensions["${ACME}"].memberId}} has no value here; fix the definition or the data it reads`);
    expect(peer.api.received.length).toBe(before);
  });

  it("refuses a header value with a line break", async () => {
    const config = edited((d, c) => {
      d.headers["x-requested-by"] = "{{vars.client}}";
      c.vars = { client: "scim-bridge\r\nx-admin: yes" };
    });
    const error = await errorOf(connector.validate(ctx(undefined, config)));
    expect(error.message).toBe("definition.validate.request.headers.x-requested-by: a value has a line break, refused in a header");
  });

  it("refuses an answer that matches both revoked and notRevoked", async () => {
    const member = peer.api.seed({ email: "both@example.com", status: "disabled" });
    const config = edited((d) => { d.verify.deactivate.notRevoked = { status: 200 }; });
    const error = await errorOf(connector.verify({ id: member.id }, ctx(undefined, config)));
    expect(error.message).toBe(`GET /members/${member.id} answered 200, which matches both revoked and notRevoked (definition.verify.deactivate); make the conditions exclusive`);
  });

  it("is revoked only when every probe of a list says so, with each one's evidence", async () => {
    const member = peer.api.seed({ email: "two@example.com", roles: ["viewer"] });
    const config = edited((d) => {
      d.verify.deactivate = [d.verify.deactivate, { request: { path: "/members/{{account.id}}" }, revoked: { jsonPath: "$.data.roles", empty: true }, notRevoked: { jsonPath: "$.data.roles", empty: false } }];
    });
    const account = { id: member.id };
    await definitionSteps(config as HttpConfig, "deactivate")[1]!.run(account, ctx(undefined, config));
    expect(await connector.verify(account, ctx(undefined, config))).toEqual({
      revoked: false,
      evidence: `GET /members/${member.id} → 200, $.data.status="disabled"; GET /members/${member.id} → 200, $.data.roles=["viewer"]`,
    });
  });
});

describe("plans a definition leaves out", () => {
  const deactivateOnly = () =>
    edited((d) => {
      delete d.plans.delete;
      delete d.verify.delete;
      delete d.plans["revoke-entitlement"];
      delete d.verify["revoke-entitlement"];
    });

  it("runs the deactivate steps and probe for delete when there is no delete plan", async () => {
    const member = peer.api.seed({ email: "nodelete@example.com" });
    const config = deactivateOnly();
    const intent: Intent = { kind: "delete" };
    expect(definitionSteps(config as HttpConfig, "delete").map((s) => s.name)).toEqual(["sign-out-sessions", "disable-member"]);
    expect(await connector.plans.delete[0]!.run({ id: member.id }, ctx(intent, config))).toBe("done");
    expect(peer.api.members.get(member.id)?.status).toBe("disabled");
    expect(await connector.verify({ id: member.id }, ctx(intent, config))).toMatchObject({ revoked: true });
  });

  it("fails revoke-entitlement permanently when there is no such plan, writing nothing", async () => {
    const config = deactivateOnly();
    const intent: Intent = { kind: "revoke-entitlement", entitlement: "viewer" };
    const writes = peer.api.writes();
    const step = await errorOf(connector.plans["revoke-entitlement"][0]!.run({ id: "m_1" }, ctx(intent, config)));
    expect(step.message).toBe("the http definition has no plans.revoke-entitlement; add one, or map no entitlements in the target's policy");
    const probe = await errorOf(connector.verify({ id: "m_1" }, ctx(intent, config)));
    expect(probe.message).toBe("the http definition has no verify.revoke-entitlement; add the read that shows the plan's effect");
    expect(peer.api.writes()).toBe(writes);
  });
});
