#!/usr/bin/env node
import { readFile } from "node:fs/promises";
import { Command, Option } from "commander";
import { registerActions } from "./actions.js";
import { adminClientFromEnv, adminRequest, CliError } from "./client.js";
import { out, table } from "./output.js";
import { serve } from "./serve.js";
import { registerStatus } from "./status.js";
import { registerTargets } from "./targets.js";
import { registerReceipts } from "./receipts.js";
import { registerAudit } from "./audit.js";

const client = () => adminClientFromEnv(process.env);

interface Created { id: string; name: string; scimUrl: string; token: string }

const program = new Command("scim-bridge")
  .description("SCIM 2.0 bridge: receives IdP deprovisioning and proves access is gone.\nTalks to a running bridge at SCIM_BRIDGE_URL with SCIM_BRIDGE_ADMIN_TOKEN.")
  .showHelpAfterError();

program.command("serve").description("run the bridge (PGlite in DATA_DIR unless DATABASE_URL is set)").action(serve);

const connection = program.command("connection").description("IdP connections (tenants)");
connection
  .command("create <name>")
  .description("create a connection and its first bearer token")
  .option("--json", "print {id, name, scimUrl, token}")
  .action(async (name: string, opts: { json?: boolean }) => {
    const created = await adminRequest<Created>(client(), "POST", "/connections", { name });
    const result = { id: created.id, name: created.name, scimUrl: created.scimUrl, token: created.token };
    out(result, !!opts.json, () => `Connection ${result.name} (${result.id})\n  SCIM base URL : ${result.scimUrl}\n  Bearer token  : ${result.token}\n  (shown once)`);
  });
connection
  .command("list")
  .option("--json", "print JSON")
  .action(async (opts: { json?: boolean }) => {
    const { connections } = await adminRequest<{ connections: Record<string, unknown>[] }>(client(), "GET", "/connections");
    out(connections, !!opts.json, () => table(connections, ["name", "id", "createdAt", "scimUrl"]));
  });

const token = program.command("token").description("credentials of a connection");
token
  .command("list <connection>")
  .option("--json", "print JSON")
  .action(async (name: string, opts: { json?: boolean }) => {
    const { credentials } = await adminRequest<{ credentials: Record<string, unknown>[] }>(client(), "GET", `/connections/${encodeURIComponent(name)}/credentials`);
    out(credentials, !!opts.json, () => table(credentials, ["id", "kind", "label", "username", "createdAt", "lastUsedAt", "revokedAt"]));
  });
token
  .command("rotate <connection>")
  .description("issue a new bearer token and revoke the connection's other bearer tokens")
  .option("--keep-others", "keep the other tokens valid (add a token instead of rotating)")
  .option("--label <label>", "a note to recognise the token by")
  .option("--json", "print JSON")
  .action(async (name: string, opts: { keepOthers?: boolean; label?: string; json?: boolean }) => {
    const made = await adminRequest<{ id: string; token: string; scimUrl: string; revoked: string[] }>(client(), "POST", `/connections/${encodeURIComponent(name)}/tokens`, {
      revokeOthers: !opts.keepOthers,
      ...(opts.label ? { label: opts.label } : {}),
    });
    out(made, !!opts.json, () => `New bearer token for ${name} (${made.id}): ${made.token}\n  SCIM base URL: ${made.scimUrl}\n  Revoked: ${made.revoked.length ? made.revoked.join(", ") : "none"}`);
  });
token
  .command("revoke <connection> <credentialId>")
  .description("revoke one credential (bearer, basic or JWT) at once")
  .action(async (name: string, id: string) => {
    await adminRequest(client(), "DELETE", `/connections/${encodeURIComponent(name)}/credentials/${encodeURIComponent(id)}`);
    console.log(`Revoked ${id}`);
  });
token
  .command("basic <connection>")
  .description("issue HTTP Basic credentials")
  .option("--username <name>")
  .option("--json", "print JSON")
  .action(async (name: string, opts: { username?: string; json?: boolean }) => {
    const made = await adminRequest<{ id: string; username: string; password: string }>(client(), "POST", `/connections/${encodeURIComponent(name)}/basic`, opts.username ? { username: opts.username } : {});
    out(made, !!opts.json, () => `Basic credentials for ${name} (${made.id})\n  user: ${made.username}\n  password: ${made.password}\n  (shown once)`);
  });
token
  .command("jwt <connection>")
  .description("accept JWTs issued by the IdP")
  .requiredOption("--issuer <iss>")
  .requiredOption("--audience <aud>")
  .option("--jwks-url <url>")
  .option("--public-key-file <pem>")
  .addOption(new Option("--alg <alg...>", "allowed algorithms").default(["RS256", "PS256", "ES256", "EdDSA"]))
  .option("--clock-tolerance <seconds>", "allowed clock skew", "60")
  .option("--json", "print JSON")
  .action(async (name: string, opts: { issuer: string; audience: string; jwksUrl?: string; publicKeyFile?: string; alg: string[]; clockTolerance: string; json?: boolean }) => {
    const body = {
      issuer: opts.issuer,
      audience: opts.audience,
      ...(opts.jwksUrl ? { jwksUrl: opts.jwksUrl } : {}),
      ...(opts.publicKeyFile ? { publicKey: await readFile(opts.publicKeyFile, "utf8") } : {}),
      algorithms: opts.alg,
      clockToleranceSec: Number(opts.clockTolerance),
    };
    const made = await adminRequest<{ id: string }>(client(), "POST", `/connections/${encodeURIComponent(name)}/jwt`, body);
    out(made, !!opts.json, () => `JWT credential ${made.id} added to ${name}`);
  });

const adminToken = program.command("admin-token").description("tokens for the admin API and console");
adminToken
  .command("create <name>")
  .addOption(new Option("--role <role>").choices(["viewer", "operator", "app-owner", "admin"]).makeOptionMandatory())
  .option("--json", "print JSON")
  .action(async (name: string, opts: { role: string; json?: boolean }) => {
    const made = await adminRequest<{ id: string; token: string; role: string }>(client(), "POST", "/admin-tokens", { name, role: opts.role });
    out(made, !!opts.json, () => `Admin token ${made.id} (${made.role}): ${made.token}\n  (shown once)`);
  });
adminToken
  .command("list")
  .option("--json", "print JSON")
  .action(async (opts: { json?: boolean }) => {
    const { adminTokens } = await adminRequest<{ adminTokens: Record<string, unknown>[] }>(client(), "GET", "/admin-tokens");
    out(adminTokens, !!opts.json, () => table(adminTokens, ["id", "name", "role", "createdAt", "lastUsedAt", "revokedAt"]));
  });
adminToken.command("revoke <id>").action(async (id: string) => {
  await adminRequest(client(), "DELETE", `/admin-tokens/${encodeURIComponent(id)}`);
  console.log(`Revoked ${id}`);
});

registerTargets(program, client);
registerStatus(program, client);
registerReceipts(program, client);
registerAudit(program, client);
registerActions(program, client);

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof CliError) {
    console.error(`error: ${error.message}${error.hint ? `\n  hint: ${error.hint}` : ""}`);
    process.exit(error.exitCode);
  }
  console.error(`error: ${(error as Error).message}`);
  process.exit(1);
});
