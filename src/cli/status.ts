import type { Command } from "commander";
import type { OperationView, TaskView } from "../engine/admin.js";
import { adminRequest, type AdminClientOptions } from "./client.js";
import { fields, out, outputWidth, relative, timestamp, type Field, type Wire } from "./output.js";

/** `GET /admin/api/connections/{connection}/subjects/{userName}/operations`. */
export interface SubjectOperations {
  connection: string;
  userName: string;
  operations: Wire<OperationView>[];
}

type TaskWire = Wire<TaskView>;

const NONE = "—";
/** Lines a last error or reason may take before it is cut: the whole text is in `--json`. */
const MAX_LINES = 2;

function stepsDone(task: TaskWire): string {
  if (task.account && !task.account.found) return `none (${task.account.evidence})`;
  if (task.stepsDone.length === 0) return NONE;
  return task.stepsDone
    .map((s) => {
      const marks = [
        s.outcome === "planned" ? "planned" : s.outcome === "already-done" ? "already done" : null,
        // quality: a verified task's steps were observed by its probe, unless no API can show them
        s.acknowledged ? "acknowledged" : task.state === "verified" && s.outcome !== "planned" ? "observed" : null,
        s.tokensExpireAt ? `tokens expire by ${timestamp(s.tokensExpireAt)}` : null,
      ].filter(Boolean);
      const name = marks.length > 0 ? `${s.name} (${marks.join(", ")})` : s.name;
      return s.evidence ? `${name}: ${s.evidence}` : name;
    })
    .join(", ");
}

function state(task: TaskWire, now: Date): string {
  if (task.state === "escalated" && task.resolution) return `escalated (resolved by ${task.resolution.by}: ${task.resolution.note})`;
  if (task.state === "verified" && task.verifiedAt) return `verified ${relative(task.verifiedAt, now)}`;
  return task.held ? `${task.state} (held)` : task.state;
}

function nextAttempt(task: TaskWire, now: Date): string {
  if (task.held) return `${NONE} (held for a decision)`;
  if (!task.nextAttemptAt) return NONE;
  const when = new Date(task.nextAttemptAt) <= now ? "due now" : relative(task.nextAttemptAt, now);
  return task.state === "escalated" ? `${when} (re-probe)` : when;
}

function evidence(task: TaskWire, now: Date): string {
  const e = task.evidence;
  if (!e) return NONE;
  return `${e.evidence}${e.dryRun ? " (dry-run)" : ""} · ${e.revoked ? "revoked" : "access remains"}, ${relative(e.at, now)}`;
}

function taskBlock(task: TaskWire, now: Date, width: number): string[] {
  const rows: Field[] = [
    ["task", task.id],
    ["state", state(task, now)],
  ];
  if (task.intent.kind === "revoke-entitlement") rows.push(["entitlement", task.intent.entitlement]);
  // An escalation's reason repeats its last error when that error caused it: show it once.
  if (task.reason && task.state !== "verified" && !(task.lastError && task.reason.includes(task.lastError.message))) rows.push(["reason", task.reason, MAX_LINES]);
  if (task.account?.found) rows.push(["account", task.account.account.id]);
  rows.push(
    ["steps done", stepsDone(task)],
    ["last error", task.lastError ? `${task.lastError.kind ?? "error"}${task.lastError.at ? ` (${relative(task.lastError.at, now)})` : ""}: ${task.lastError.message}` : NONE, MAX_LINES],
    ["next attempt", nextAttempt(task, now)],
    ["evidence", evidence(task, now)],
  );
  const kind = `${task.target.kind}${task.target.mode === "dry-run" ? ", dry-run" : ""}`;
  return [`  ${task.target.name} (${kind})`, ...fields(rows, 4, width)];
}

function operationBlock(op: Wire<OperationView>, now: Date, width: number): string[] {
  const head: string[] = [op.kind, op.state];
  if ((op.status === "held" || op.status === "rejected" || op.status === "cancelled") && op.status !== op.state) head.push(`status ${op.status}`);
  head.push(`created ${timestamp(op.createdAt)} (${relative(op.createdAt, now)})`);
  const rows: Field[] = [["operation", op.id]];
  if (op.groupId) rows.push(["group", op.groupId]);
  if (op.reason) rows.push(["reason", op.reason, MAX_LINES]);
  if (op.decision) {
    const verb = op.status === "rejected" ? "rejected" : "approved";
    rows.push(["decision", `${verb} by ${op.decision.by} ${relative(op.decision.at, now)}${op.decision.note ? `: ${op.decision.note}` : ""}`]);
  }
  const tasks = op.tasks.length > 0 ? op.tasks.flatMap((t) => taskBlock(t, now, width)) : ["  (no target was in scope: nothing to revoke)"];
  return [head.join(" · "), ...fields(rows, 2, width), ...tasks];
}

/** The human `status` text: one block per operation, newest first, then one table per target. */
export function renderStatus(view: SubjectOperations, now: Date, width: number): string {
  if (view.operations.length === 0) return `no operations for ${view.userName} in connection ${view.connection}`;
  const count = view.operations.length;
  const lines = [`${view.userName} in connection ${view.connection}: ${count} operation${count === 1 ? "" : "s"}, newest first`];
  for (const op of view.operations) lines.push("", ...operationBlock(op, now, width));
  const open = view.operations.flatMap((op) => op.tasks.filter((t) => t.state === "escalated" && !t.resolution).map((t) => ({ op, t })));
  if (open.length > 0) {
    lines.push(
      "",
      "An escalation needs a person. Once its cause is fixed: scim-bridge operation retry <operation>;",
      'if access was removed by hand: scim-bridge task resolve <task> --note "what was done".',
    );
  }
  return lines.join("\n");
}

export function registerStatus(program: Command, client: () => AdminClientOptions): void {
  program
    .command("status <userName>")
    .description("a person's operations and, per target: state, steps done, last error, next attempt, evidence")
    .requiredOption("--connection <name>", "the connection (IdP tenant) the person belongs to")
    .option("--json", "print the admin API's answer: {connection, userName, operations}")
    .action(async (userName: string, opts: { connection: string; json?: boolean }) => {
      const path = `/connections/${encodeURIComponent(opts.connection)}/subjects/${encodeURIComponent(userName)}/operations`;
      const view = await adminRequest<SubjectOperations>(client(), "GET", path);
      out(view, !!opts.json, () => renderStatus(view, new Date(), outputWidth()));
    });
}
