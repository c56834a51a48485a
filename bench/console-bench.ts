/**
 * `npm run bench:console`: what the support console asks for, on a bridge with SEED_USERS people
 * (Default 100,000) on embedded PGlite: the people search the search box sends as someone types
 * (userName prefixes, exact emails, an externalId miss), a person's operations, the escalations
 * queue, the targets with health, and the console page itself. Sequential requests, one at a
 * time, as one support person makes them; p50/p99 per request kind.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBridgeProcess } from "../test/support/bridge-process.js";
import { openPglite } from "../src/storage/pglite-driver.js";
import { seedBridge } from "./seed-bridge.js";
import { seedUserCount, seedUserName } from "./seed-users.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 200);

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

async function main(): Promise<void> {
  const users = seedUserCount(process.env);
  const dir = await mkdtemp(join(tmpdir(), "scim-bridge-bench-console-"));
  const adminToken = randomBytes(32).toString("base64url");
  try {
    process.stderr.write(`seeding ${users} people\n`);
    await seedBridge(dir, users, (line) => process.stderr.write(`  ${line}\n`));
    // the statistics the bridge's own maintenance gathers 30 s after start (storage/maintenance.ts),
    // gathered now: this measures a bridge in its steady state, not its first half-minute
    const seeded = await openPglite({ dataDir: dir });
    await seeded.query("analyze");
    await seeded.close();
    const bridge = await startBridgeProcess({ DATA_DIR: dir, DATABASE_URL: "", ADMIN_TOKEN: adminToken, DEMO_CONNECTION: "false" }, 120_000, { keepChars: 10_000 });
    try {
      const get = async (path: string): Promise<number> => {
        const started = performance.now();
        const res = await fetch(`${bridge.url}${path}`, { headers: { authorization: `Bearer ${adminToken}` } });
        await res.arrayBuffer();
        if (!res.ok) throw new Error(`GET ${path} answered ${res.status}`);
        return performance.now() - started;
      };
      const pick = () => 1 + Math.floor(Math.random() * users);
      const kinds: [string, () => string][] = [
        ["people: userName prefix (8 chars)", () => `/admin/api/people?q=${seedUserName(pick()).slice(0, 8)}`],
        ["people: userName prefix (4 chars)", () => "/admin/api/people?q=user"],
        ["people: exact email", () => `/admin/api/people?q=${encodeURIComponent(seedUserName(pick()))}`],
        ["people: no match", () => `/admin/api/people?q=nobody-${randomBytes(3).toString("hex")}`],
        ["a person's operations", () => `/admin/api/connections/bench/subjects/${encodeURIComponent(seedUserName(pick()))}/operations`],
        ["escalations queue", () => "/admin/api/escalations"],
        ["targets with health", () => "/admin/api/targets"],
        ["console page", () => "/"],
      ];
      for (let i = 0; i < 20; i++) for (const [, path] of kinds) await get(path()); // warm-up
      const rows: string[] = [];
      for (const [name, path] of kinds) {
        const ms: number[] = [];
        for (let i = 0; i < ROUNDS; i++) ms.push(await get(path()));
        ms.sort((a, b) => a - b);
        rows.push(`| ${name} | ${percentile(ms, 50).toFixed(1)} ms | ${percentile(ms, 99).toFixed(1)} ms |`);
      }
      console.log(`console requests on ${users} people (embedded PGlite), ${ROUNDS} sequential requests each`);
      console.log(["| request | p50 | p99 |", "|---|---|---|", ...rows].join("\n"));
    } finally {
      bridge.child.kill("SIGTERM");
      await bridge.exited;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
