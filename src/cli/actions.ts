import type { Command } from "commander";
import type { OperationView } from "../engine/admin.js";
import { adminRequest, type AdminClientOptions } from "./client.js";
import { out, type Wire } from "./output.js";

type OperationWire = Wire<OperationView>;

/** Support actions (operators): each one POST route of /admin/api, each printed as one line. */
export function registerActions(program: Command, client: () => AdminClientOptions): void {
  const post = <T>(path: string, note?: string) => adminRequest<T>(client(), "POST", path, note !== undefined ? { note } : {});
  const tally = (op: OperationWire) => {
    const counts = new Map<string, number>();
    for (const t of op.tasks) counts.set(t.state, (counts.get(t.state) ?? 0) + 1);
    return [...counts].map(([s, n]) => `${n} ${s}`).join(", ") || "no tasks";
  };

  const operation = program.command("operation").description("act on one operation (ids as shown by scim-bridge status)");
  const opAction = (name: string, description: string, line: (op: OperationWire) => string, withNote: boolean) => {
    const command = operation.command(`${name} <operationId>`).description(description).option("--json", "print the operation after the action");
    if (withNote) command.option("--note <note>", "why: recorded with who did it");
    command.action(async (id: string, opts: { note?: string; json?: boolean }) => {
      const op = await post<OperationWire>(`/operations/${encodeURIComponent(id)}/${name}`, opts.note);
      out(op, !!opts.json, () => line(op));
    });
  };
  opAction("retry", "run the operation's open tasks now, with their attempt count reset", (op) => `Retrying operation ${op.id} now (state ${op.state}; tasks: ${tally(op)})`, false);
  opAction("approve", "release a held operation: its tasks run now", (op) => `Approved operation ${op.id} (state ${op.state}; tasks: ${tally(op)})`, true);
  opAction("reject", "reject a held operation: nothing is done in any target", (op) => `Rejected operation ${op.id}: its tasks are cancelled (tasks: ${tally(op)})`, true);
  opAction("cancel", "cancel an operation's open tasks; finished ones keep their state", (op) => `Cancelled operation ${op.id} (state ${op.state}; tasks: ${tally(op)})`, true);

  const task = program.command("task").description("act on one task: one operation in one target");
  task
    .command("resolve <taskId>")
    .description("close an escalation with what a person did; it stays escalated, never verified")
    .requiredOption("--note <note>", "what was done, e.g. \"removed by hand in the vendor console\"")
    .option("--json", "print JSON")
    .action(async (id: string, opts: { note: string; json?: boolean }) => {
      const done = await post<{ taskId: string; resolved: boolean }>(`/tasks/${encodeURIComponent(id)}/resolve`, opts.note);
      out(done, !!opts.json, () => `Resolved task ${done.taskId}: ${opts.note}`);
    });
  task
    .command("retry <taskId>")
    .description("run one open task now, with its attempt count reset")
    .option("--json", "print JSON")
    .action(async (id: string, opts: { json?: boolean }) => {
      const done = await post<{ taskId: string; retried: boolean }>(`/tasks/${encodeURIComponent(id)}/retry`);
      out(done, !!opts.json, () => `Retrying task ${done.taskId} now`);
    });

  const held = program.command("held").description("operations the guard held (a mass deactivation) for a person to decide");
  for (const decision of ["approve", "reject"] as const) {
    held
      .command(decision)
      .description(decision === "approve" ? "release every held operation of a connection" : "reject every held operation of a connection: nothing is done in any target")
      .requiredOption("--connection <name>", "the connection")
      .option("--note <note>", "why: recorded with who decided")
      .option("--json", "print JSON")
      .action(async (opts: { connection: string; note?: string; json?: boolean }) => {
        const done = await post<{ connection: string; decision: string; operations: number }>(`/connections/${encodeURIComponent(opts.connection)}/held/${decision}`, opts.note);
        const n = `${done.operations} held operation${done.operations === 1 ? "" : "s"}`;
        out(done, !!opts.json, () => `${decision === "approve" ? "Approved" : "Rejected"} ${n} in connection ${done.connection}`);
      });
  }
}
