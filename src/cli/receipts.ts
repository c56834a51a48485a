import { readFile, writeFile } from "node:fs/promises";
import type { Command } from "commander";
import type { JWK } from "jose";
import { verifyReceipt, type ReceiptPayload, type ReceiptTarget } from "../evidence/receipt-verify.js";
import { adminRequest, CliError, type AdminClientOptions } from "./client.js";
import { out, timestamp } from "./output.js";

/**
 * `scim-bridge receipt verify FILE [--jwks URL|FILE] [--json]` checks a receipt offline (with a
 * JWKS file) or against a bridge's published keys; `scim-bridge receipt get OPERATION_ID
 * [--out FILE]` downloads one through the admin API.
 */

const TIMEOUT_MS = 15_000;

async function readText(path: string, what: string): Promise<string> {
  try {
    return path === "-" ? await readStdin() : await readFile(path, "utf8");
  } catch (error) {
    throw new CliError(`cannot read ${what} ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

async function readStdin(): Promise<string> {
  let text = "";
  for await (const chunk of process.stdin) text += String(chunk);
  return text;
}

/** The JWKS from a URL (http/https) or a file; `source` names it in errors. */
export async function loadJwks(source: string): Promise<{ keys: JWK[] }> {
  let text: string;
  if (/^https?:\/\//i.test(source)) {
    let response: Response;
    try {
      response = await fetch(source, { headers: { accept: "application/json" }, signal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (error) {
      throw new CliError(`cannot fetch the JWKS from ${source} (${(error as Error).message})`, "to verify offline, save the bridge's /.well-known/jwks.json and pass --jwks FILE");
    }
    if (!response.ok) throw new CliError(`the JWKS at ${source} answered HTTP ${response.status}`, "is this the bridge that issued the receipt? its keys are at /.well-known/jwks.json");
    text = await response.text();
  } else {
    text = await readText(source, "--jwks");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CliError(`the JWKS from ${source} is not JSON`);
  }
  if (typeof parsed !== "object" || parsed === null || !Array.isArray((parsed as { keys?: unknown }).keys)) {
    throw new CliError(`the JWKS from ${source} is not {"keys": [...]}`);
  }
  return parsed as { keys: JWK[] };
}

/** Text from targets and people, made safe for a terminal: control characters become "?". */
const clean = (text: string) => text.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");

function targetLines(t: ReceiptTarget): string[] {
  const intent = t.intent.entitlement ? ` ${t.intent.kind} ${t.intent.entitlement}` : "";
  const closed = t.dryRun ? " (dry-run: nothing written)" : t.resolution ? ` (closed by ${t.resolution.by}'s resolution)` : "";
  const head = `  target ${t.name} (${t.kind})${intent}: ${t.state}${closed}`;
  const lines = [head];
  if (t.account) lines.push(`    account: ${t.account.found ? t.account.id : "none (observed absent)"}`);
  for (const s of t.steps) lines.push(`    step ${s.name}: ${s.outcome}, ${s.quality} (${timestamp(s.at)})`);
  if (t.evidence) lines.push(`    evidence (${timestamp(t.evidence.at)}): ${t.evidence.observation} · ${t.evidence.revoked ? "revoked" : "access remained"}`);
  if (t.reason) lines.push(`    reason: ${t.reason}`);
  if (t.resolution) lines.push(`    resolved by ${t.resolution.by} (${timestamp(t.resolution.at)}): ${t.resolution.note}`);
  return lines.map(clean);
}

/** Human output of a valid receipt: what it says, then the signature line. */
export function receiptText(payload: ReceiptPayload, kid: string): string {
  const { operation: op, subject } = payload;
  const head = [
    `Receipt ${payload.receiptId} for operation ${op.id}`,
    `  event: ${op.kind}${op.groupId ? ` (left group ${op.groupId})` : ""}, requested ${timestamp(op.requestedAt)}, completed ${timestamp(op.completedAt)}`,
    `  connection: ${payload.connection.name} (${payload.connection.id})`,
    `  subject: ${subject.userName} (id ${subject.id}${subject.externalId ? `, externalId ${subject.externalId}` : ""})`,
    `  issued by ${payload.iss} at ${timestamp(new Date(payload.iat * 1000))}`,
  ].map(clean);
  const audit = payload.audit ? [`  audit log head at issue: ${payload.audit.seq}:${payload.audit.hash} (check the log still holds it: scim-bridge audit verify --pin ${payload.audit.seq}:${payload.audit.hash})`] : [];
  return [...head, ...payload.targets.flatMap(targetLines), ...audit, `signature valid (key ${kid})`].join("\n");
}

/** `GET /admin/api/operations/{id}/receipt` as text (adminRequest reads JSON only). */
async function downloadReceipt(client: AdminClientOptions, operationId: string): Promise<string> {
  if (!client.token) throw new CliError("SCIM_BRIDGE_ADMIN_TOKEN is not set", "export SCIM_BRIDGE_ADMIN_TOKEN=<an admin token with role viewer or operator>", 2);
  let response: Response;
  try {
    response = await fetch(`${client.url}/admin/api/operations/${encodeURIComponent(operationId)}/receipt`, {
      headers: { authorization: `Bearer ${client.token}`, accept: "application/jose" },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    throw new CliError(`cannot reach the bridge at ${client.url} (${(error as Error).message})`, "start it with `scim-bridge serve`, or set SCIM_BRIDGE_URL");
  }
  const text = await response.text();
  if (response.ok) return text;
  let error: { message?: string; hint?: string } | undefined;
  try {
    error = (JSON.parse(text) as { error?: { message?: string; hint?: string } }).error;
  } catch {
    // not the admin API's error body: report the status
  }
  throw new CliError(error?.message ?? `HTTP ${response.status}`, error?.hint);
}

export function registerReceipts(program: Command, client: () => AdminClientOptions): void {
  const receipt = program.command("receipt").description("signed receipts of completed operations");
  receipt
    .command("verify <file>")
    .description("check a receipt's signature and show what it says (offline with --jwks FILE)")
    .option("--jwks <url-or-file>", "the issuing bridge's JWKS: a URL or a saved file (Default: $SCIM_BRIDGE_URL/.well-known/jwks.json)")
    .option("--json", "print {ok, kid, payload} or {ok: false, part, problem}")
    .action(async (file: string, opts: { jwks?: string; json?: boolean }) => {
      const jws = await readText(file, "the receipt");
      const jwks = await loadJwks(opts.jwks ?? `${client().url}/.well-known/jwks.json`);
      const result = await verifyReceipt(jws, jwks);
      if (opts.json) console.log(JSON.stringify(result, null, 2));
      if (!result.ok) throw new CliError(`the receipt does not verify: ${result.problem}`, result.part === "key" ? "pass --jwks with the JWKS of the bridge that issued it" : "this file is not the receipt the bridge signed");
      if (!opts.json) console.log(receiptText(result.payload, result.kid));
    });
  receipt
    .command("get <operationId>")
    .description("download an operation's receipt (a compact JWS) through the admin API")
    .option("--out <file>", "write it to this file (Default: print it)")
    .action(async (operationId: string, opts: { out?: string }) => {
      const jws = await downloadReceipt(client(), operationId);
      if (!opts.out) return out(jws, false, () => jws);
      await writeFile(opts.out, jws);
      console.log(`Receipt of operation ${operationId} saved to ${opts.out}; check it with: scim-bridge receipt verify ${opts.out}`);
    });
  receipt
    .command("rotate-key")
    .description("make a new receipt signing key (admins); the old one stops signing and stays in the JWKS")
    .option("--json", "print {kid, retired}")
    .action(async (opts: { json?: boolean }) => {
      const rotated = await adminRequest<{ kid: string; retired: string[] }>(client(), "POST", "/receipt-keys/rotate");
      out(rotated, !!opts.json, () => `Receipts are now signed with key ${rotated.kid}; retired, still published in /.well-known/jwks.json: ${rotated.retired.join(", ") || "none"}`);
    });
}
