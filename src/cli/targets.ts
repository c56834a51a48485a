import { readFile } from "node:fs/promises";
import { Option, type Command } from "commander";
import type { Target } from "../storage/targets-repo.js";
import { adminRequest, CliError, type AdminClientOptions } from "./client.js";
import { duration, out, relative, table, type Wire } from "./output.js";

type TargetWire = Wire<Target>;

/** Parses a JSON object given on the command line; nothing is sent when it is not one. */
export function jsonObject(text: string, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${what} is not valid JSON (${(error as Error).message})`, `quote it for the shell, e.g. ${what} '{"key": "value"}'; nothing was sent`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new CliError(`${what} must be a JSON object`, "nothing was sent");
  return parsed as Record<string, unknown>;
}

async function configOf(opts: { config?: string; configFile?: string }): Promise<Record<string, unknown>> {
  if (opts.config !== undefined) return jsonObject(opts.config, "--config");
  if (opts.configFile === undefined) return {};
  let text: string;
  try {
    text = await readFile(opts.configFile, "utf8");
  } catch (error) {
    throw new CliError(`cannot read --config-file ${opts.configFile} (${(error as Error).message})`, "nothing was sent");
  }
  return jsonObject(text, `--config-file ${opts.configFile}`);
}

const row = (t: TargetWire, now: Date) => ({
  name: t.name,
  kind: t.kind,
  connectionId: t.connectionId,
  mode: t.policy.mode,
  deactivate: t.policy.deactivate,
  sla: duration(t.policy.slaMs),
  enabled: t.enabled,
  pausedUntil: t.pausedUntil && new Date(t.pausedUntil) > now ? relative(t.pausedUntil, now) : "-",
});

function created(t: TargetWire, connection: string): string {
  const config = Object.entries(t.config).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(", ") || "(none)";
  return [
    `Target ${t.name} (${t.kind}) created in connection ${connection} (${t.id})`,
    `  mode ${t.policy.mode}, deactivate ${t.policy.deactivate}, SLA ${duration(t.policy.slaMs)}, max concurrency ${t.policy.maxConcurrency}`,
    `  config: ${config}`,
  ].join("\n");
}

export function registerTargets(program: Command, client: () => AdminClientOptions): void {
  const target = program.command("target").description("the apps a connection's deprovisioning reaches (app owners)");
  target
    .command("create <name>")
    .description("register a target: a connector kind with its config and policy")
    .requiredOption("--connection <name>", "the connection whose users it serves")
    .requiredOption("--kind <kind>", "the connector kind (target list shows the installed kinds)")
    .addOption(new Option("--config <json>", "the connector's config as a JSON object").conflicts("configFile"))
    .option("--config-file <path>", "read the config from a JSON file (keeps secrets out of shell history)")
    .option("--policy <json>", 'policy fields as JSON, e.g. {"mode": "dry-run", "slaMs": 600000}')
    .option("--json", "print the created target")
    .action(async (name: string, opts: { connection: string; kind: string; config?: string; configFile?: string; policy?: string; json?: boolean }) => {
      const body = {
        connection: opts.connection,
        name,
        kind: opts.kind,
        config: await configOf(opts),
        ...(opts.policy !== undefined ? { policy: jsonObject(opts.policy, "--policy") } : {}),
      };
      const made = await adminRequest<TargetWire>(client(), "POST", "/targets", body);
      out(made, !!opts.json, () => created(made, opts.connection));
    });
  target
    .command("test <name>")
    .description("check a target without writing anything: its credentials, and with --user that person's account")
    .requiredOption("--connection <name>", "the connection the target belongs to")
    .option("--user <userName>", "find this person's account in the target")
    .option("--json", "print JSON")
    .action(async (name: string, opts: { connection: string; user?: string; json?: boolean }) => {
      const { targets } = await adminRequest<{ targets: TargetWire[] }>(client(), "GET", `/targets?connection=${encodeURIComponent(opts.connection)}`);
      const found = targets.find((t) => t.name === name);
      if (!found) throw new CliError(`no target named ${JSON.stringify(name)} in connection ${opts.connection}`, `list them: scim-bridge target list --connection ${opts.connection}`);
      const check = await adminRequest<TargetCheckWire>(client(), "POST", `/targets/${found.id}/test`, opts.user !== undefined ? { userName: opts.user } : {});
      out(check, !!opts.json, () => checkText(check));
      if (!check.validate.ok || (check.account && !check.account.ok)) process.exitCode = 1;
    });
  target
    .command("list")
    .description("list targets, with their policy and any pause")
    .option("--connection <name>", "only this connection's targets")
    .option("--json", "print JSON")
    .action(async (opts: { connection?: string; json?: boolean }) => {
      const query = opts.connection !== undefined ? `?connection=${encodeURIComponent(opts.connection)}` : "";
      const { targets, kinds } = await adminRequest<{ targets: TargetWire[]; kinds: string[] }>(client(), "GET", `/targets${query}`);
      const now = new Date();
      out(targets, !!opts.json, () =>
        `${table(targets.map((t) => row(t, now)), ["name", "kind", "connectionId", "mode", "deactivate", "sla", "enabled", "pausedUntil"])}\ninstalled kinds: ${kinds.join(", ") || "none"}`,
      );
    });
}

interface CheckStepWire {
  ok: boolean;
  ms: number;
  error?: { kind: string; message: string };
}

interface TargetCheckWire {
  target: { id: string; name: string; kind: string };
  validate: CheckStepWire;
  account?: CheckStepWire & { userName: string; found?: boolean; account?: { id: string } };
}

const stepText = (step: CheckStepWire, ok: string) => (step.ok ? `${ok} (${step.ms} ms)` : `FAILED: ${step.error?.kind} error: ${step.error?.message} (${step.ms} ms)`);

/** Human output of `target test`: one line per check; nothing was written to the target. */
function checkText(check: TargetCheckWire): string {
  const lines = [`target ${check.target.name} (${check.target.kind}), nothing written:`, `  credentials  ${stepText(check.validate, "valid")}`];
  if (check.account) {
    const a = check.account;
    const found = a.found ? `found account ${a.account?.id}` : "no account (a deactivation would be verified as absent)";
    lines.push(`  ${a.userName}  ${stepText(a, found)}`);
  }
  return lines.join("\n");
}
