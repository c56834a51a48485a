import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { parse as parseYaml, type ScalarTag } from "yaml";
import type { Target } from "../storage/targets-repo.js";
import { adminRequest, CliError, type AdminClientOptions } from "./client.js";
import { duration, out, relative, table, type Wire } from "./output.js";

type TargetWire = Wire<Target>;

/**
 * `token: !env CRM_TOKEN` in a target file: the value of that environment variable of the CLI's
 * process, so secrets stay out of files (the bridge seals them when they arrive).
 */
const envTag = (env: NodeJS.ProcessEnv): ScalarTag => ({
  tag: "!env",
  resolve(name: string, onError: (message: string) => void): string {
    const value = env[name.trim()];
    if (value === undefined || value === "") {
      onError(`!env ${name.trim()}: that environment variable is not set`);
      return "";
    }
    return value;
  },
});

/**
 * Reads a target file (`-`: stdin), JSON or YAML (JSON is YAML): every top-level key but `policy`
 * is the connector's config; `policy` is the target's policy. `!env NAME` reads a value from the
 * environment. Nothing is sent when it is not a mapping.
 */
export async function targetFile(path: string, env: NodeJS.ProcessEnv = process.env): Promise<{ config: Record<string, unknown>; policy?: Record<string, unknown> }> {
  let text: string;
  try {
    text = path === "-" ? await readStdin() : await readFile(path, "utf8");
  } catch (error) {
    throw new CliError(`cannot read --config ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, "nothing was sent");
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text, { prettyErrors: true, uniqueKeys: true, customTags: [envTag(env)] });
  } catch (error) {
    throw new CliError(`--config ${path} is not valid YAML or JSON: ${(error as Error).message.split("\n")[0]}`, "fix the file; nothing was sent");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new CliError(`--config ${path} must hold a mapping of config fields (and an optional policy:)`, "see the README's 'Register a target'; nothing was sent");
  }
  const { policy, ...config } = parsed as Record<string, unknown>;
  if (policy !== undefined && (typeof policy !== "object" || policy === null || Array.isArray(policy))) {
    throw new CliError(`policy: in ${path} must be a mapping, e.g. policy: {mode: dry-run}`, "nothing was sent");
  }
  return { config, ...(policy !== undefined ? { policy: policy as Record<string, unknown> } : {}) };
}

async function readStdin(): Promise<string> {
  let text = "";
  for await (const chunk of process.stdin) text += String(chunk);
  return text;
}

/** The target a connection has under `name`, or a CliError saying how to list them. */
async function targetNamed(client: AdminClientOptions, connection: string, name: string): Promise<TargetWire> {
  const { targets } = await adminRequest<{ targets: TargetWire[] }>(client, "GET", `/targets?connection=${encodeURIComponent(connection)}`);
  const found = targets.find((t) => t.name === name);
  if (!found) throw new CliError(`no target named ${JSON.stringify(name)} in connection ${connection} (that this token may see)`, `list them: scim-bridge target list --connection ${connection}`);
  return found;
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

const configText = (config: Record<string, unknown>) =>
  Object.entries(config).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(", ") || "(none)";

/** Human output of `target show`. */
function shown(t: TargetWire, now: Date): string {
  const p = t.policy;
  const paused = t.pausedUntil && new Date(t.pausedUntil) > now ? `paused until ${t.pausedUntil} (${t.pauseReason ?? "no reason"})` : "not paused";
  const entitlements = Object.entries(p.entitlements).map(([g, e]) => `${g} → ${e}`).join(", ") || "none";
  return [
    `Target ${t.name} (${t.kind}) ${t.enabled ? "enabled" : "DISABLED"}, id ${t.id}`,
    `  connection ${t.connectionId}, owner ${t.ownerTokenId ?? "(admins)"}`,
    `  config: ${configText(t.config)}`,
    `  policy: mode ${p.mode}, deactivate ${p.deactivate}, SLA ${duration(p.slaMs)}, max concurrency ${p.maxConcurrency}, rate ${p.maxRequestsPerSec ?? "unlimited"}/s`,
    `  scope: ${p.scopeGroups ? `members of ${p.scopeGroups.join(", ")}` : "every user of the connection"}; entitlements: ${entitlements}`,
    `  health: ${paused}, ${t.consecutiveFailures} failures in a row`,
  ].join("\n");
}

function created(t: TargetWire, connection: string): string {
  const config = configText(t.config);
  return [
    `Target ${t.name} (${t.kind}) created in connection ${connection} (${t.id})`,
    `  mode ${t.policy.mode}, deactivate ${t.policy.deactivate}, SLA ${duration(t.policy.slaMs)}, max concurrency ${t.policy.maxConcurrency}`,
    `  config: ${config}`,
  ].join("\n");
}

export function registerTargets(program: Command, client: () => AdminClientOptions): void {
  const target = program.command("target").description("the apps a connection's deprovisioning reaches (app owners)");
  target
    .command("add")
    .description("register a target: a connector kind with its config and policy, from a JSON or YAML file")
    .requiredOption("--connection <name>", "the connection whose users it serves")
    .requiredOption("--kind <kind>", "the connector kind (target list shows the installed kinds)")
    .requiredOption("--name <name>", "the target's name in this connection (lower-case letters, digits, . _ -)")
    .requiredOption("--config <file>", "JSON or YAML file (- for stdin): the connector's config fields, and an optional policy: block")
    .option("--json", "print the created target")
    .action(async (opts: { connection: string; kind: string; name: string; config: string; json?: boolean }) => {
      const file = await targetFile(opts.config);
      const body = { connection: opts.connection, name: opts.name, kind: opts.kind, ...file };
      const made = await adminRequest<TargetWire & { warnings?: string[] }>(client(), "POST", "/targets", body);
      out(made, !!opts.json, () => created(made, opts.connection));
      if (!opts.json) for (const warning of made.warnings ?? []) console.error(`warning: ${warning}`);
    });
  target
    .command("show <name>")
    .description("one target: its config (secrets hidden), policy, state and owner")
    .requiredOption("--connection <name>", "the connection the target belongs to")
    .option("--json", "print JSON")
    .action(async (name: string, opts: { connection: string; json?: boolean }) => {
      const found = await targetNamed(client(), opts.connection, name);
      const t = await adminRequest<TargetWire>(client(), "GET", `/targets/${found.id}`);
      out(t, !!opts.json, () => shown(t, new Date()));
    });
  for (const [verb, enabled] of [["disable", false], ["enable", true]] as const) {
    target
      .command(`${verb} <name>`)
      .description(enabled ? "let new operations reach the target again" : "stop new operations reaching the target (its open tasks run on)")
      .requiredOption("--connection <name>", "the connection the target belongs to")
      .option("--json", "print the changed target")
      .action(async (name: string, opts: { connection: string; json?: boolean }) => {
        const found = await targetNamed(client(), opts.connection, name);
        const t = await adminRequest<TargetWire>(client(), "PATCH", `/targets/${found.id}`, { enabled });
        out(t, !!opts.json, () => `Target ${t.name} ${enabled ? "enabled" : "disabled: new operations no longer reach it"}`);
      });
  }
  target
    .command("test <name>")
    .description("check a target without writing anything: its credentials, and with --user that person's account")
    .requiredOption("--connection <name>", "the connection the target belongs to")
    .option("--user <userName>", "find this person's account in the target")
    .option("--json", "print JSON")
    .action(async (name: string, opts: { connection: string; user?: string; json?: boolean }) => {
      const found = await targetNamed(client(), opts.connection, name);
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
