import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from "node:child_process";
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

export interface BridgeProcessOptions {
  /**
   * Once it listens, keep only about the last this many characters of its stdout and of its
   * stderr (Default: everything). A long run at LOG_LEVEL=info writes megabytes.
   */
  keepChars?: number;
}

/** Starts `scim-bridge serve` as a real process (built by `pretest`) and waits until it listens. */
export async function startBridgeProcess(env: Record<string, string>, timeoutMs = 60_000, options: BridgeProcessOptions = {}): Promise<BridgeProcess> {
  const child = spawn(process.execPath, [CLI, "serve"], {
    env: { PATH: process.env.PATH ?? "", PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info", ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  let listening = false;
  const keep = options.keepChars;
  // trimmed only after the listening line (and the banner after it) was read, at twice the size: amortised
  const tail = (text: string) => (listening && keep !== undefined && text.length > 2 * keep ? text.slice(-keep) : text);
  child.stdout.on("data", (d) => (out = tail(out + String(d))));
  child.stderr.on("data", (d) => (err = tail(err + String(d))));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL"); // never leave a half-started bridge behind
      reject(new Error(`bridge did not start in ${timeoutMs} ms:\n${out}\n${err}`));
    }, timeoutMs);
    const check = () => {
      for (const line of out.split("\n")) {
        if (!line.startsWith("{")) continue;
        try {
          const entry = JSON.parse(line) as { event?: string; url?: string };
          if (entry.event === "listening" && entry.url) {
            clearTimeout(timer);
            child.stdout.off("data", check);
            // the banner is written right after the listening line
            setTimeout(() => {
              listening = true;
              resolve(entry.url!);
            }, 50);
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

/** SIGKILLs a process (no shutdown hook runs: a crash) and resolves once it is gone. */
export async function killProcess(p: { child: ChildProcess; exited: Promise<unknown> }): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
  await p.exited;
}

export const FAKE_TARGET_MAIN = join(PROJECT_ROOT, "dist", "test", "support", "fake-target", "main.js");
/** The fake target's connector, for a bridge process's CONNECTOR_MODULES. */
export const FAKE_TARGET_CONNECTOR = join(PROJECT_ROOT, "dist", "test", "support", "fake-target", "connector.js");

export interface FakeTargetProcess {
  child: ChildProcess;
  /** `http://127.0.0.1:NNNN`: tenants under `/t/<tenant>`, the control API under `/_control/<tenant>`. */
  url: string;
  exited: Promise<number | null>;
}

/** Starts the fake target as its own process (built by `pretest`) and waits for its listening line. */
export async function startFakeTargetProcess(timeoutMs = 20_000): Promise<FakeTargetProcess> {
  const child = spawn(process.execPath, [FAKE_TARGET_MAIN], { env: { PATH: process.env.PATH ?? "", PORT: "0" }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stderr.on("data", (d) => (err = (err + String(d)).slice(-10_000)));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the fake target did not start in ${timeoutMs} ms:\n${out}\n${err}`));
    }, timeoutMs);
    const check = (d: unknown) => {
      out += String(d);
      const line = out.split("\n").slice(0, -1).find((l) => l.includes('"listening"')); // whole lines only
      if (!line) return;
      clearTimeout(timer);
      child.stdout.off("data", check);
      child.stdout.resume(); // it prints nothing more, but never let a pipe fill
      resolve((JSON.parse(line) as { url: string }).url);
    };
    child.stdout.on("data", check);
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`the fake target exited with ${code} before listening:\n${out}\n${err}`)); });
  });
  return { child, url, exited };
}
