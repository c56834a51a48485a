import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { PROJECT_ROOT } from "../src/paths.js";
import { createLogger } from "../src/log.js";

/** Replaces process.stdout.write until `restore()`, keeping what was written. */
function captureStdout(): { writes: string[]; restore(): void } {
  const writes: string[] = [];
  const original = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    writes.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  return { writes, restore: () => void (process.stdout.write = original) };
}

describe("log lines on stdout", () => {
  it("writes the lines of a busy moment with one write, each a JSON line, within 20 ms", async () => {
    const stdout = captureStdout();
    const writes = stdout.writes;
    const log = createLogger("info");
    try {
      log.child({ module: "http" }).info("request", { method: "GET", status: 200 });
      log.info("second", { n: 2 });
      expect(writes).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 40));
      expect(writes).toHaveLength(1);
      const lines = writes[0]!.split("\n").filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines).toEqual([
        expect.objectContaining({ level: "info", message: "request", module: "http", method: "GET", status: 200, timestamp: expect.any(String) }),
        expect.objectContaining({ level: "info", message: "second", n: 2 }),
      ]);
    } finally {
      log.close();
      stdout.restore();
    }
  });

  it("writes what is pending when the process exits at once", () => {
    const logModule = join(PROJECT_ROOT, "dist", "src", "log.js");
    const script = `import { createLogger } from ${JSON.stringify(logModule)}; createLogger("info").warn("last words", { code: 7 }); process.exit(3);`;
    let stdout = "";
    try {
      execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    } catch (error) {
      const failed = error as { status?: number; stdout?: string };
      expect(failed.status).toBe(3);
      stdout = failed.stdout ?? "";
    }
    expect(JSON.parse(stdout.trim())).toEqual(expect.objectContaining({ level: "warn", message: "last words", code: 7 }));
  });

  it("still writes a line whose data JSON.stringify refuses (a BigInt)", async () => {
    const stdout = captureStdout();
    const writes = stdout.writes;
    const log = createLogger("info");
    try {
      log.info("counted", { total: 12345678901234567890n });
      await new Promise((resolve) => setTimeout(resolve, 40));
      expect(JSON.parse(writes.join("").trim())).toEqual(expect.objectContaining({ message: "counted", total: "12345678901234567890" }));
    } finally {
      log.close();
      stdout.restore();
    }
  });
});
