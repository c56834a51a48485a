import { randomUUID } from "node:crypto";
import { mkdir, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import express from "express";
import { adminAuth } from "../../src/admin/admin-auth.js";
import { auditRoutes } from "../../src/admin/audit-routes.js";
import { registerAudit } from "../../src/cli/audit.js";
import { CliError } from "../../src/cli/client.js";
import { silentLogger } from "../../src/log.js";
import { adminTokenWritesSettled, createAdminToken } from "../../src/storage/admin-tokens-repo.js";
import { auditHead, MAINTENANCE_SETTING } from "../../src/storage/audit-repo.js";
import type { Db } from "../../src/storage/db.js";
import { testDb } from "../support/test-db.js";

/** Runs `scim-bridge audit …` in this process against the server; what it printed and the exit code it set. */
async function audit(url: string, token: string, ...args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number; error?: CliError }> {
  const program = new Command("scim-bridge").exitOverride();
  registerAudit(program, () => ({ url, token }));
  const stdout: string[] = [];
  const stderr: string[] = [];
  const log = console.log;
  const write = process.stderr.write;
  const writeOut = process.stdout.write;
  console.log = (...parts: unknown[]) => void stdout.push(parts.join(" "));
  process.stderr.write = ((chunk: string) => (stderr.push(String(chunk)), true)) as typeof process.stderr.write;
  process.stdout.write = ((chunk: string) => (stdout.push(String(chunk).replace(/\n$/, "")), true)) as typeof process.stdout.write;
  process.exitCode = undefined;
  try {
    await program.parseAsync(["audit", ...args], { from: "user" });
    return { stdout: stdout.join("\n"), stderr: stderr.join(""), exitCode: Number(process.exitCode ?? 0) };
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    return { stdout: stdout.join("\n"), stderr: stderr.join(""), exitCode: error.exitCode, error };
  } finally {
    console.log = log;
    process.stderr.write = write;
    process.stdout.write = writeOut;
    process.exitCode = undefined;
  }
}

describe("scim-bridge audit verify and export", () => {
  let db: Db;
  let server: Server;
  let url: string;
  let operator: string;
  let viewer: string;
  const dir = join(tmpdir(), `audit-cli-${randomUUID()}`);
  const file = join(dir, "audit.ndjson");

  beforeAll(async () => {
    db = await testDb();
    operator = (await createAdminToken(db, { name: "ops", role: "operator" })).token;
    viewer = (await createAdminToken(db, { name: "support", role: "viewer" })).token;
    for (let i = 0; i < 30; i++) await db.query("insert into connections (id, name) values ($1, $2)", [randomUUID(), `conn-${i}`]);
    const log = silentLogger();
    const app = express().use("/admin/api", adminAuth(db, log), auditRoutes({ db, log }));
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await mkdir(dir, { recursive: true });
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await adminTokenWritesSettled();
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("verifies the bridge's chain and prints the checkpoint to pin", async () => {
    const run = await audit(url, operator, "verify");
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/^Audit chain intact: 32 rows of the bridge's log verified; head is row 32 at \S+Z\.\n {2}Keep this checkpoint .*: scim-bridge audit verify --pin 32:[0-9a-f]{64}$/);
    const pin = /--pin (\S+)/.exec(run.stdout)![1]!;
    const json = await audit(url, operator, "verify", "--json", "--pin", pin);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, checked: 33, head: { seq: 33 } });
  });

  it("exports to a file that verifies offline, and reports what it wrote on stderr", async () => {
    const run = await audit(url, operator, "export", "--out", file);
    const head = (await auditHead(db))!.seq;
    expect(run).toMatchObject({ exitCode: 0, stdout: "", stderr: `exported ${head - 1} entries (rows 1..${head - 1}) to ${file}\n` });
    const lines = (await readFile(file, "utf8")).trimEnd().split("\n");
    expect(lines.map((l) => JSON.parse(l).seq)).toEqual(Array.from({ length: head - 1 }, (_, i) => i + 1));
    const offline = await audit("http://127.0.0.1:9", "unused", "verify", "--file", file);
    expect(offline.exitCode).toBe(0);
    expect(offline.stdout).toMatch(new RegExp(`^Audit chain intact: ${head - 1} rows of ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} verified;`));
  });

  it("exports entries after a seq to stdout", async () => {
    const run = await audit(url, operator, "export", "--since", "30");
    const seqs = run.stdout.split("\n").map((l) => JSON.parse(l).seq);
    expect(seqs[0]).toBe(31);
    expect(run.stderr).toMatch(/^exported \d+ entries \(rows 31\.\.\d+\)\n$/);
  });

  it("exits 1 on a broken chain, naming the row and what to do", async () => {
    await db.transaction(async (tx) => {
      await tx.query("select set_config($1, 'on', true)", [MAINTENANCE_SETTING]);
      await tx.query("delete from audit_log where seq = 12");
    });
    const run = await audit(url, operator, "verify");
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toBe([
      "Audit chain BROKEN at row 12: rows 11→13: row 12 is missing (deleted)",
      "  11 rows of the bridge's log verified before it.",
      "  What to do: the audit log was changed outside the bridge at that row: keep a copy of the database as it is now, compare the rows there with your last export (scim-bridge audit export) and pinned checkpoint, and treat entries before that row as unproven.",
    ].join("\n"));
    const offline = await audit(url, operator, "verify", "--file", file, "--json");
    expect(offline.exitCode).toBe(0); // the export was made before the row was deleted: it still proves row 12
  });

  it("says what is wrong with a viewer's token, a bad --since and a missing file", async () => {
    expect((await audit(url, viewer, "export")).error).toMatchObject({ message: "role viewer may not do this", hint: "use a token with role admin or operator" });
    expect((await audit(url, operator, "export", "--since", "soon")).error?.message).toMatch(/^--since: since must be a seq/);
    expect((await audit(url, operator, "verify", "--file", join(dir, "nope.ndjson"))).error?.message).toMatch(/^cannot read .*nope\.ndjson \(ENOENT\)$/);
  });
});
