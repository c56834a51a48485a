import { buildReceiptPayload, completeness, type ReceiptOperationInput, type ReceiptTaskInput } from "../../src/evidence/receipts.js";
import { receiptProblems } from "../../src/evidence/receipt-verify.js";
import type { ReceiptFacts } from "../../src/storage/receipts-repo.js";

const OP_ID = "0b9f6d1e-4a57-4c1e-9d59-6a3c1f0e2b11";
const CONNECTION_ID = "5d0c2a4f-7b1e-4b8a-8f5c-2e9d1a3b4c5d";

const NUMBERS: Record<string, number> = { crm: 1, hr: 2, wiki: 3, erp: 4, git: 5 };
const taskId = (name: string) => `00000000-0000-4000-8000-00000000000${NUMBERS[name]}`;

/** A task as getOperation shows it; `over` replaces any part. */
function task(name: string, over: Partial<ReceiptTaskInput> = {}): ReceiptTaskInput {
  return {
    id: taskId(name),
    target: { id: `10000000-0000-4000-8000-00000000000${NUMBERS[name]}`, name, kind: "fake", mode: "live" },
    intent: { kind: "deactivate" },
    state: "verified",
    resolution: null,
    stepsDone: [
      { name: "revoke-sessions", outcome: "done", at: "2026-01-05T09:00:01.000Z" },
      { name: "sign-out-everywhere", outcome: "done", acknowledged: true, at: "2026-01-05T09:00:02.000Z" },
      { name: "suspend-user", outcome: "already-done", at: "2026-01-05T09:00:03.000Z" },
    ],
    evidence: { revoked: true, evidence: "GET /users/a-1 → active=false, sessions=0", at: "2026-01-05T09:00:04.000Z" },
    account: { found: true, account: { id: "a-1" }, at: "2026-01-05T09:00:00.500Z" },
    reason: null,
    verifiedAt: new Date("2026-01-05T09:00:04.000Z"),
    ...over,
  };
}

function operation(tasks: ReceiptTaskInput[], over: Partial<ReceiptOperationInput> = {}): ReceiptOperationInput {
  return {
    id: OP_ID,
    connectionId: CONNECTION_ID,
    kind: "deactivate",
    status: "released",
    subject: { id: "7e57a1ce-0000-4000-8000-000000000001", userName: "alice@example.com" },
    groupId: null,
    createdAt: new Date("2026-01-05T09:00:00.000Z"),
    extendedAt: null,
    tasks,
    ...over,
  };
}

const facts = (dryRun: string[] = []): ReceiptFacts => ({ connectionName: "acme", externalId: "okta-00u1", dryRunTaskIds: new Set(dryRun) });
const claims = { iss: "https://bridge.example.com/", issuedAt: new Date("2026-01-05T10:00:00.500Z"), receiptId: "r-1" };

describe("the receipt payload of a completed operation", () => {
  it("states the connection, the subject with its externalId, the event and its times", () => {
    const payload = buildReceiptPayload(operation([task("crm")]), facts(), claims);
    expect(payload).toEqual(expect.objectContaining({
      iss: "https://bridge.example.com",
      iat: Math.floor(claims.issuedAt.getTime() / 1000),
      receiptId: "r-1",
      operation: { id: OP_ID, kind: "deactivate", requestedAt: "2026-01-05T09:00:00.000Z", completedAt: "2026-01-05T09:00:04.000Z" },
      connection: { id: CONNECTION_ID, name: "acme" },
      subject: { id: "7e57a1ce-0000-4000-8000-000000000001", userName: "alice@example.com", externalId: "okta-00u1" },
    }));
    expect(receiptProblems(payload)).toEqual([]);
  });

  it("marks each step of a verified task observed, except a step no API can show (acknowledged)", () => {
    const [target] = buildReceiptPayload(operation([task("crm")]), facts(), claims).targets;
    expect(target).toEqual({
      id: "10000000-0000-4000-8000-000000000001",
      name: "crm",
      kind: "fake",
      intent: { kind: "deactivate" },
      state: "verified",
      account: { found: true, id: "a-1" },
      steps: [
        { name: "revoke-sessions", outcome: "done", quality: "observed", at: "2026-01-05T09:00:01.000Z" },
        { name: "sign-out-everywhere", outcome: "done", quality: "acknowledged", at: "2026-01-05T09:00:02.000Z" },
        { name: "suspend-user", outcome: "already-done", quality: "observed", at: "2026-01-05T09:00:03.000Z" },
      ],
      evidence: { revoked: true, observation: "GET /users/a-1 → active=false, sessions=0", at: "2026-01-05T09:00:04.000Z" },
    });
  });

  it("carries a person's resolution of an escalated task, whose steps no probe observed", () => {
    const resolved = task("hr", {
      state: "escalated",
      verifiedAt: null,
      evidence: { revoked: false, evidence: "GET /users/a-1 → active=true", at: "2026-01-05T09:15:00.000Z" },
      reason: "deadline passed (900000 ms) without an observed revocation",
      resolution: { by: "sam", at: "2026-01-05T09:40:00.000Z", note: "disabled by hand in the vendor console" },
    });
    const payload = buildReceiptPayload(operation([task("crm"), resolved]), facts(), claims);
    expect(payload.operation.completedAt).toBe("2026-01-05T09:40:00.000Z");
    expect(payload.targets[1]).toEqual(expect.objectContaining({
      state: "escalated",
      steps: expect.arrayContaining([expect.objectContaining({ name: "revoke-sessions", quality: "acknowledged" })]),
      evidence: { revoked: false, observation: "GET /users/a-1 → active=true", at: "2026-01-05T09:15:00.000Z" },
      resolution: { by: "sam", at: "2026-01-05T09:40:00.000Z", note: "disabled by hand in the vendor console" },
      reason: "deadline passed (900000 ms) without an observed revocation",
    }));
    expect(payload.targets[1]!.steps.every((s) => s.quality === "acknowledged")).toBe(true);
  });

  it("records observed absence when the target had no account", () => {
    const absent = task("wiki", { stepsDone: [], account: { found: false, at: "2026-01-05T09:00:01.000Z", evidence: "findAccount(alice) → no account in target" }, evidence: { revoked: true, evidence: "findAccount(alice) → no account in target", at: "2026-01-05T09:00:01.000Z" } });
    const [target] = buildReceiptPayload(operation([absent]), facts(), claims).targets;
    expect(target).toEqual(expect.objectContaining({ account: { found: false }, steps: [], evidence: expect.objectContaining({ revoked: true, observation: "findAccount(alice) → no account in target" }) }));
  });

  it("shows a dry-run target as cancelled with nothing written, and names the entitlement of a revoke-entitlement task", () => {
    const dry = task("erp", { state: "cancelled", verifiedAt: null, stepsDone: [{ name: "suspend-user", outcome: "planned", at: "2026-01-05T09:00:01.000Z" }], reason: "dry-run: no writes made; the plan would run suspend-user" });
    const entitlement = task("git", { intent: { kind: "revoke-entitlement", entitlement: "team-eng" } });
    const payload = buildReceiptPayload(operation([dry, entitlement], { kind: "revoke-entitlement", groupId: "9a9a9a9a-0000-4000-8000-000000000009" }), facts([dry.id]), claims);
    expect(payload.operation.groupId).toBe("9a9a9a9a-0000-4000-8000-000000000009");
    expect(payload.targets[0]).toEqual(expect.objectContaining({ state: "cancelled", dryRun: true, steps: [], reason: expect.stringMatching(/^dry-run/) }));
    expect(payload.targets[1]!.intent).toEqual({ kind: "revoke-entitlement", entitlement: "team-eng" });
  });

  it("refuses to build the payload of an operation that is not complete", () => {
    expect(() => buildReceiptPayload(operation([task("crm", { state: "verifying", verifiedAt: null })]), facts(), claims)).toThrow(/not complete: 1 of its 1 task\(s\) are still open \(crm: verifying\)/);
  });
});

describe("whether an operation is complete", () => {
  const cases: [string, ReceiptOperationInput, string[], ReturnType<typeof completeness>][] = [
    ["every task verified", operation([task("crm"), task("hr")]), [], { complete: true }],
    ["an escalation resolved by a person", operation([task("crm", { state: "escalated", resolution: { by: "sam", at: "2026-01-05T09:40:00.000Z", note: "by hand" } })]), [], { complete: true }],
    ["a dry-run task cancelled beside a verified one", operation([task("crm"), task("erp", { state: "cancelled" })]), [taskId("erp")], { complete: true }],
    ["an escalation nobody resolved yet", operation([task("crm", { state: "escalated" })]), [], { complete: false, final: false, why: expect.stringMatching(/still open \(crm: escalated\)/) }],
    ["a task still verifying", operation([task("crm"), task("hr", { state: "verifying" })]), [], { complete: false, final: false, why: expect.stringMatching(/1 of its 2 task/) }],
    ["a task cancelled by a reactivation", operation([task("crm"), task("hr", { state: "cancelled", reason: "reactivated by the IdP" })]), [], { complete: false, final: true, why: expect.stringMatching(/task in hr was cancelled \(reactivated by the IdP\)/) }],
    ["an operation held by the guard", operation([task("crm", { state: "queued" })], { status: "held" }), [], { complete: false, final: false, why: expect.stringMatching(/held/) }],
    ["an operation rejected by an operator", operation([task("crm", { state: "cancelled" })], { status: "rejected" }), [], { complete: false, final: true, why: expect.stringMatching(/rejected/) }],
    ["an operation cancelled by a reactivation", operation([task("crm", { state: "cancelled" })], { status: "cancelled" }), [], { complete: false, final: true, why: expect.stringMatching(/cancelled/) }],
    ["an operation no target was in scope of", operation([]), [], { complete: false, final: true, why: expect.stringMatching(/no target/) }],
  ];
  it.each(cases)("%s", (_name, op, dryRun, expected) => {
    expect(completeness(op, new Set(dryRun))).toEqual(expected);
  });
});
