import { createReadStream, createWriteStream } from "node:fs";
import { once } from "node:events";
import { createInterface } from "node:readline";
import type { Writable } from "node:stream";
import type { Command } from "commander";
import { parseCheckpoint, verifyAuditExport, type AuditCheckpoint, type AuditVerification } from "../evidence/audit-chain.js";
import { parseSince } from "../storage/audit-repo.js";
import { CliError, type AdminClientOptions } from "./client.js";

/**
 * `scim-bridge audit verify|export`: the hash-chained audit log, through the admin API (the CLI
 * never opens the data directory). Both stream NDJSON from the bridge, so a long log neither
 * times out nor fills memory; progress goes to stderr, results to stdout.
 */

/** A line of an NDJSON answer: as received, and parsed. */
interface Line {
  raw: string;
  value: Record<string, unknown>;
}

const line = (raw: string): Line => {
  try {
    return { raw, value: JSON.parse(raw) as Record<string, unknown> };
  } catch {
    throw new CliError("the bridge sent a line that is not JSON", "is SCIM_BRIDGE_URL a scim-bridge?");
  }
};

/** GET an NDJSON route of /admin/api and yield its lines as they arrive. */
async function* ndjson(options: AdminClientOptions, path: string): AsyncGenerator<Line> {
  if (!options.token) {
    throw new CliError("SCIM_BRIDGE_ADMIN_TOKEN is not set", "export SCIM_BRIDGE_ADMIN_TOKEN=<an operator or admin token>", 2);
  }
  let response: Response;
  try {
    response = await fetch(`${options.url}/admin/api${path}`, { headers: { authorization: `Bearer ${options.token}`, accept: "application/x-ndjson" } });
  } catch (error) {
    throw new CliError(`cannot reach the bridge at ${options.url} (${(error as Error).message})`, "start it with `scim-bridge serve`, or set SCIM_BRIDGE_URL");
  }
  if (!response.ok || !response.body) {
    const text = await response.text().catch(() => "");
    let error: { message?: string; hint?: string } | undefined;
    try {
      error = (JSON.parse(text) as { error?: { message?: string; hint?: string } }).error;
    } catch {
      // not JSON: reported below by status
    }
    throw new CliError(error?.message ?? `the bridge answered HTTP ${response.status}`, error?.hint);
  }
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of response.body) {
    buffered += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const raw = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (raw.trim() !== "") yield line(raw);
    }
  }
  if (buffered.trim() !== "") yield line(buffered);
}

/** A line the bridge wrote when it failed part-way: stop with its message. */
function failIfError(line: Record<string, unknown>): void {
  const error = line.error as { message?: string; hint?: string } | undefined;
  if (error) throw new CliError(error.message ?? "the bridge stopped part-way", error.hint);
}

/** At most one progress line a second on stderr, only where someone watches. */
function progressLine(): (text: string) => void {
  let last = 0;
  return (text) => {
    if (!process.stderr.isTTY || Date.now() - last < 1000) return;
    last = Date.now();
    process.stderr.write(`${text}\n`);
  };
}

/** Human text of a verification. */
export function verificationText(result: AuditVerification, source: string): string {
  if (!result.ok) {
    return [
      `Audit chain BROKEN at row ${result.seq}: ${result.problem}`,
      `  ${result.checked} rows of ${source} verified before it.`,
      `  What to do: ${result.hint}.`,
    ].join("\n");
  }
  if (!result.head) return `Audit log of ${source} is empty: nothing to verify.`;
  const from = result.trustedFrom !== undefined ? ` (from row ${result.trustedFrom}, whose prev_hash is taken on trust: the export starts there)` : "";
  return [
    `Audit chain intact: ${result.checked} rows of ${source} verified${from}; head is row ${result.head.seq} at ${result.head.at}.`,
    `  Keep this checkpoint to detect a later truncation or rewrite: scim-bridge audit verify --pin ${result.head.seq}:${result.head.hash}`,
  ].join("\n");
}

async function verifyRemote(client: AdminClientOptions, pin: AuditCheckpoint | undefined): Promise<AuditVerification> {
  const progress = progressLine();
  const query = `?progress=1${pin ? `&pin=${pin.seq}:${pin.hash}` : ""}`;
  for await (const { value } of ndjson(client, `/audit/verify${query}`)) {
    failIfError(value);
    const p = value.progress as { checked: number; seq: number } | undefined;
    if (p) progress(`verified ${p.checked} rows (up to row ${p.seq})…`);
    if (value.result) return value.result as AuditVerification;
  }
  throw new CliError("the bridge ended the verification without a result", "retry; if it persists, check the bridge's log");
}

async function verifyFile(path: string, pin: AuditCheckpoint | undefined): Promise<AuditVerification> {
  const input = createReadStream(path, { encoding: "utf8" });
  const opened = once(input, "open").catch((error: NodeJS.ErrnoException) => {
    throw new CliError(`cannot read ${path} (${error.code ?? error.message})`, "give a file written by scim-bridge audit export --out");
  });
  await opened;
  const progress = progressLine();
  return verifyAuditExport(createInterface({ input, crlfDelay: Infinity }), {
    ...(pin ? { pin } : {}),
    onProgress: (p) => progress(`verified ${p.checked} rows (up to row ${p.seq})…`),
  });
}

async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, "drain");
}

export function registerAudit(program: Command, client: () => AdminClientOptions): void {
  const audit = program.command("audit").description("the hash-chained audit log of every SCIM write, task transition, probe and admin action (operators)");
  audit
    .command("verify")
    .description("recompute every link of the chain and name the first broken one (exit 1 when broken)")
    .option("--pin <seq:hash>", "a checkpoint printed by an earlier verify: also fails if that row is gone or was rewritten")
    .option("--file <export.ndjson>", "verify an export offline instead of the bridge's log")
    .option("--json", "print the result as JSON")
    .action(async (opts: { pin?: string; file?: string; json?: boolean }) => {
      let pin: AuditCheckpoint | undefined;
      try {
        pin = opts.pin !== undefined ? parseCheckpoint(opts.pin) : undefined;
      } catch (error) {
        throw new CliError(`--pin: ${(error as Error).message}`, "use the checkpoint a previous `audit verify` printed");
      }
      const result = opts.file !== undefined ? await verifyFile(opts.file, pin) : await verifyRemote(client(), pin);
      console.log(opts.json ? JSON.stringify(result, null, 2) : verificationText(result, opts.file ?? "the bridge's log"));
      if (!result.ok) process.exitCode = 1;
    });
  audit
    .command("export")
    .description("write the log as NDJSON, one entry a line, each with the exact text its hash covers (verify it with audit verify --file)")
    .option("--since <seq|time>", "only entries after this seq, or at and after this ISO time (2025-06-01T00:00:00Z)")
    .option("--out <file>", "write to this file instead of stdout")
    .action(async (opts: { since?: string; out?: string }) => {
      try {
        parseSince(opts.since);
      } catch (error) {
        throw new CliError(`--since: ${(error as Error).message}`);
      }
      const out: Writable = opts.out !== undefined ? createWriteStream(opts.out, { flags: "w" }) : process.stdout;
      if (opts.out !== undefined) await once(out, "open").catch((error: NodeJS.ErrnoException) => {
        throw new CliError(`cannot write ${opts.out} (${error.code ?? error.message})`);
      });
      const progress = progressLine();
      let entries = 0;
      let first: number | undefined;
      let last: number | undefined;
      try {
        for await (const { raw, value } of ndjson(client(), `/audit/export${opts.since !== undefined ? `?since=${encodeURIComponent(opts.since)}` : ""}`)) {
          failIfError(value);
          await write(out, raw + "\n");
          entries++;
          first ??= value.seq as number;
          last = value.seq as number;
          progress(`exported ${entries} entries (up to row ${last})…`);
        }
      } finally {
        if (out !== process.stdout) await new Promise<void>((resolve) => out.end(resolve));
      }
      const range = entries > 0 ? ` (rows ${first}..${last})` : "";
      process.stderr.write(`exported ${entries} entries${range}${opts.out !== undefined ? ` to ${opts.out}` : ""}\n`);
    });
}
