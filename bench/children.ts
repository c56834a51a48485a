/**
 * The servers under test run as child processes: started here, awaited until they print their
 * ready line, sampled for memory, and always stopped, even on SIGINT or a crash of the bench.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";

/** Lines of a child's output kept to explain why it failed to start. */
const TAIL_LINES = 20;
/** Grace between SIGTERM and SIGKILL when stopping a child (Default: 3000). */
const STOP_GRACE_MS = 3_000;

const running = new Set<ChildProcess>();

export interface StartOptions<T> {
  /** For messages: "baseline", "bridge". */
  name: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Given each JSON line of stdout; the first non-undefined result means the child is ready. */
  ready: (line: Record<string, unknown>) => T | undefined;
  timeoutMs: number;
}

export interface Started<T> {
  child: ChildProcess;
  pid: number;
  ready: T;
}

export function startChild<T>(options: StartOptions<T>): Promise<Started<T>> {
  const child = spawn(process.execPath, options.args, { env: options.env, stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  child.once("exit", () => running.delete(child));
  const tail: string[] = [];
  const remember = (line: string) => {
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
  };
  createInterface({ input: child.stderr! }).on("line", remember);

  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(`${options.name} ${why}${tail.length ? `; its last output:\n  ${tail.join("\n  ")}` : ""}`));
    };
    const timer = setTimeout(() => fail(`printed no ready line within ${options.timeoutMs / 1000} s`), options.timeoutMs);
    child.once("error", (error) => fail(`could not be started (${error.message})`));
    child.once("exit", (code, signal) => fail(`exited (${signal ?? `code ${code}`}) before it was ready`));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      remember(line);
      const ready = settled ? undefined : parseReady(line, options.ready);
      if (ready === undefined || child.pid === undefined) return;
      settled = true;
      clearTimeout(timer);
      resolve({ child, pid: child.pid, ready });
    });
  });
}

function parseReady<T>(line: string, ready: (line: Record<string, unknown>) => T | undefined): T | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const parsed: unknown = JSON.parse(line);
    return typeof parsed === "object" && parsed !== null ? ready(parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

/** Kills every child still running when the bench exits, however it exits. */
export function stopChildrenOnExit(): void {
  process.once("exit", () => {
    for (const child of running) child.kill("SIGKILL");
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: stopping ${running.size} server(s)\n`);
      void Promise.all([...running].map(stopChild)).finally(() => process.exit(130));
    });
  }
}

/** Memory of one process in MB, from /proc/<pid>/status. */
export interface Rss {
  /** Highest VmRSS seen while sampling. */
  sampledPeakMb: number;
  /** VmHWM: the kernel's own peak resident set over the process's whole life (start-up included). */
  highWaterMb: number;
}

/** Samples VmRSS every `intervalMs` until `stop()`, which returns the peaks. Linux only; elsewhere 0. */
export function sampleRss(pid: number, intervalMs = 200): { stop(): Rss } {
  let sampledPeakMb = 0;
  let highWaterMb = 0;
  const sample = () => {
    const status = readStatus(pid);
    if (!status) return;
    sampledPeakMb = Math.max(sampledPeakMb, status.rssMb);
    highWaterMb = Math.max(highWaterMb, status.hwmMb);
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { sampledPeakMb, highWaterMb };
    },
  };
}

function readStatus(pid: number): { rssMb: number; hwmMb: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0);
  return { rssMb: kb("VmRSS") / 1024, hwmMb: kb("VmHWM") / 1024 };
}
