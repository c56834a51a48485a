/**
 * Signed receipts (issue 5): when an operation completes, a compact JWS of what was done and
 * observed for it, signed with the bridge's current Ed25519 key (`keys.ts`). The format and its
 * verification are in `receipt-verify.ts`.
 *
 * An operation is complete, and gets exactly one receipt, when it was released (not held,
 * rejected or cancelled), has at least one task, and every task is closed: `verified` (a probe
 * observed the access gone), `escalated` with a person's resolution, or `cancelled` because its
 * target runs in dry-run (nothing was written; the receipt says so). An operation with a task
 * cancelled by a reactivation or an operator was superseded, not completed: it never gets a
 * receipt, and neither does one with no target in scope (there is nothing to attest). Every
 * closed state is final, so a receipt, once issued, is never re-issued or rewritten.
 */
import { randomUUID } from "node:crypto";
import { CompactSign } from "jose";
import type { OperationView, TaskView } from "../engine/admin.js";
import { getOperation } from "../engine/admin.js";
import { OPEN_TASK_STATES } from "../storage/tasks-repo.js";
import { findReceipt, insertReceipt, receiptFacts, settleWithoutReceipt, type ReceiptFacts, type StoredReceipt } from "../storage/receipts-repo.js";
import type { Db } from "../storage/db.js";
import { auditHead } from "../storage/audit-repo.js";
import type { SigningKey } from "./keys.js";
import { receiptHeader, type ReceiptPayload, type ReceiptStep, type ReceiptTarget } from "./receipt-verify.js";

export { RECEIPT_TYP, type ReceiptPayload, type ReceiptTarget, type ReceiptStep } from "./receipt-verify.js";

/** The parts of a task's view a receipt reads. */
export type ReceiptTaskInput = Pick<TaskView, "id" | "target" | "intent" | "state" | "resolution" | "stepsDone" | "evidence" | "account" | "reason" | "verifiedAt">;
/** The parts of an operation's view a receipt reads. */
export type ReceiptOperationInput = Pick<OperationView, "id" | "connectionId" | "kind" | "status" | "subject" | "groupId" | "createdAt" | "extendedAt"> & {
  tasks: readonly ReceiptTaskInput[];
};

/** Whether an operation is complete; when not, why, and whether it ever will be (`final`). */
export type Completeness = { complete: true } | { complete: false; final: boolean; why: string };

const isOpen = (t: ReceiptTaskInput) => OPEN_TASK_STATES.includes(t.state) && !t.resolution;

/** Decides completeness (module doc comment); `dryRunTaskIds` are the tasks whose target ran dry. */
export function completeness(op: ReceiptOperationInput, dryRunTaskIds: ReadonlySet<string>): Completeness {
  if (op.status === "held") return { complete: false, final: false, why: "it is held by the mass-deprovisioning guard, awaiting an operator" };
  if (op.status === "rejected") return { complete: false, final: true, why: "an operator rejected it: nothing was done" };
  if (op.status === "cancelled") return { complete: false, final: true, why: "it was cancelled (superseded by a reactivation, or by an operator)" };
  if (op.tasks.length === 0) return { complete: false, final: true, why: "no target was in scope: there is nothing to attest" };
  const open = op.tasks.filter(isOpen);
  if (open.length > 0) {
    return { complete: false, final: false, why: `${open.length} of its ${op.tasks.length} task(s) are still open (${open.map((t) => `${t.target.name}: ${t.state}`).join(", ")})` };
  }
  const superseded = op.tasks.find((t) => t.state === "cancelled" && !dryRunTaskIds.has(t.id));
  if (superseded) return { complete: false, final: true, why: `its task in ${superseded.target.name} was cancelled (${superseded.reason ?? "no reason recorded"})` };
  return { complete: true };
}

/** When a closed task closed: verified, resolved, or (dry run) last probed. */
function closedAt(t: ReceiptTaskInput): string | null {
  if (t.state === "verified" && t.verifiedAt) return new Date(t.verifiedAt).toISOString();
  if (t.resolution) return t.resolution.at;
  return t.evidence?.at ?? null;
}

function receiptTarget(t: ReceiptTaskInput, dryRun: boolean): ReceiptTarget {
  const observedGone = t.state === "verified" && t.evidence?.revoked === true;
  const steps: ReceiptStep[] = t.stepsDone
    .filter((s): s is typeof s & { outcome: "done" | "already-done" } => s.outcome !== "planned")
    .map((s) => ({ name: s.name, outcome: s.outcome, quality: observedGone && !s.acknowledged ? "observed" : "acknowledged", at: s.at }));
  const account = t.account === null ? null : t.account.found ? { found: true as const, id: t.account.account.id } : { found: false as const };
  const intent = t.intent.kind === "revoke-entitlement" ? { kind: t.intent.kind, entitlement: t.intent.entitlement } : { kind: t.intent.kind };
  return {
    id: t.target.id,
    name: t.target.name,
    kind: t.target.kind,
    intent,
    state: t.state as ReceiptTarget["state"],
    ...(dryRun ? { dryRun: true as const } : {}),
    account,
    steps,
    evidence: t.evidence ? { revoked: t.evidence.revoked, observation: t.evidence.evidence, at: t.evidence.at } : null,
    ...(t.resolution ? { resolution: { by: t.resolution.by, at: t.resolution.at, note: t.resolution.note } } : {}),
    ...(t.state !== "verified" && t.reason ? { reason: t.reason } : {}),
  };
}

export interface ReceiptClaims {
  /** The bridge's public URL. */
  iss: string;
  /** When the receipt is issued. */
  issuedAt: Date;
  /** Default: a new UUID. */
  receiptId?: string;
  /** The audit log's head at issue (Default: none). */
  auditHead?: { seq: number; hash: string } | null;
}

/**
 * The payload of a complete operation's receipt (throws for an incomplete one: check
 * `completeness` first). Targets are in the view's order (by name).
 */
export function buildReceiptPayload(op: ReceiptOperationInput, facts: ReceiptFacts, claims: ReceiptClaims): ReceiptPayload {
  const state = completeness(op, facts.dryRunTaskIds);
  if (!state.complete) throw new Error(`operation ${op.id} is not complete: ${state.why}`);
  const times = op.tasks.map(closedAt).filter((t): t is string => t !== null).sort();
  const requestedAt = new Date(op.createdAt).toISOString();
  return {
    iss: claims.iss.replace(/\/+$/, ""),
    iat: Math.floor(claims.issuedAt.getTime() / 1000),
    receiptId: claims.receiptId ?? randomUUID(),
    operation: {
      id: op.id,
      kind: op.kind,
      requestedAt,
      completedAt: times.at(-1) ?? requestedAt,
      ...(op.groupId ? { groupId: op.groupId } : {}),
      ...(op.extendedAt ? { extendedAt: new Date(op.extendedAt).toISOString() } : {}),
    },
    connection: { id: op.connectionId, name: facts.connectionName },
    subject: { id: op.subject.id, userName: op.subject.userName, externalId: facts.externalId },
    targets: op.tasks.map((t) => receiptTarget(t, facts.dryRunTaskIds.has(t.id))),
    ...(claims.auditHead ? { audit: { seq: claims.auditHead.seq, hash: claims.auditHead.hash } } : {}),
  };
}

/** Signs a payload: compact JWS, alg EdDSA, the receipt header (kid, typ, payload digest). */
export async function signReceipt(payload: ReceiptPayload, key: SigningKey): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify(payload));
  return new CompactSign(bytes).setProtectedHeader({ ...receiptHeader(key.kid, bytes) }).sign(key.privateKey);
}

export type IssueOutcome =
  | { outcome: "issued"; receipt: StoredReceipt }
  | { outcome: "exists"; receipt: StoredReceipt }
  | { outcome: "incomplete"; final: boolean; why: string }
  | { outcome: "no-operation" };

/**
 * Issues an operation's receipt if it is complete and has none. Idempotent and safe when
 * replicas race: the first stored receipt wins and the others get it back as `exists`. An
 * operation that will never be complete is settled, so the issuer's sweep stops reading it.
 */
export async function issueReceipt(
  db: Db,
  keys: { signingKey(): Promise<SigningKey> },
  request: { operationId: string; iss: string; now: Date },
): Promise<IssueOutcome> {
  const existing = await findReceipt(db, request.operationId);
  if (existing) return { outcome: "exists", receipt: existing };
  const [op, facts] = await Promise.all([getOperation(db, request.operationId), receiptFacts(db, request.operationId)]);
  if (!op || !facts) return { outcome: "no-operation" };
  const state = completeness(op, facts.dryRunTaskIds);
  if (!state.complete) {
    if (state.final) await settleWithoutReceipt(db, op.id, request.now);
    return { outcome: "incomplete", final: state.final, why: state.why };
  }
  const key = await keys.signingKey();
  const head = await auditHead(db);
  const jws = await signReceipt(buildReceiptPayload(op, facts, { iss: request.iss, issuedAt: request.now, auditHead: head }), key);
  const receipt: StoredReceipt = { operationId: op.id, kid: key.kid, jws, issuedAt: request.now };
  if (await insertReceipt(db, receipt)) return { outcome: "issued", receipt };
  const winner = await findReceipt(db, op.id);
  if (!winner) throw new Error(`operation ${op.id}: its receipt was neither stored nor found`);
  return { outcome: "exists", receipt: winner };
}
