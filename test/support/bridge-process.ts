import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../src/paths.js";

export const CLI = join(PROJECT_ROOT, "dist", "src", "cli", "index.js");

export interface BridgeProcess {
  child: ChildProcessWithoutNullStreams;
  url: string;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

export const tempDir = (prefix: string) => mkdtemp(join(tmpdir(), prefix));

/** Starts `scim-bridge serve` as a real process (built by `pretest`) and waits until it listens. */
export async function startBridgeProcess(env: Record<string, string>, timeoutMs = 60_000): Promise<BridgeProcess> {
  const child = spawn(process.execPath, [CLI, "serve"], {
    env: { PATH: process.env.PATH ?? "", PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info", ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += String(d)));
  child.stderr.on("data", (d) => (err += String(d)));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bridge did not start in ${timeoutMs} ms:\n${out}\n${err}`)), timeoutMs);
    const check = () => {
      for (const line of out.split("\n")) {
        if (!line.startsWith("{")) continue;
        try {
          const entry = JSON.parse(line) as { event?: string; url?: string };
          if (entry.event === "listening" && entry.url) {
            clearTimeout(timer);
            // the banner is written right after the listening line
            setTimeout(() => resolve(entry.url!), 50);
            return;
          }
        } catch { /* not a log line */ }
      }
    };
    child.stdout.on("data", check);
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`bridge exited with ${code} before listening:\n${out}\n${err}`)); });
  });
  return { child, url, stdout: () => out, stderr: () => err, exited };
}

/** Runs the CLI against a bridge; resolves with its exit code and output. */
export function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? "", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += String(d)));
    child.stderr.on("data", (d) => (stderr += String(d)));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}
