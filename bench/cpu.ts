/**
 * CPU time of the processes under test, per thread, from /proc (Linux only; elsewhere zeros): how
 * busy the bridge's main thread and its PGlite worker thread were over a measured window. On a
 * machine with few cores this says whether the figures are bound by CPU rather than by the engine.
 */
import { readdirSync, readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";

/** USER_HZ: /proc reports CPU time in these ticks; 100 on every mainstream Linux build. */
const TICKS_PER_SECOND = 100;

type Ticks = Map<number, number>;

function threadTicks(pid: number): Ticks {
  const ticks: Ticks = new Map();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return ticks;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      // fields after the parenthesised comm: state is field 3, utime 14, stime 15
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks.set(Number(tid), Number(fields[11]) + Number(fields[12]));
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return ticks;
}

export interface CpuUse {
  /** Wall-clock seconds of the window. */
  seconds: number;
  /** CPU seconds over all threads. */
  total: number;
  /** CPU seconds of the main (JavaScript) thread. */
  main: number;
  /** CPU seconds of the busiest other thread: in the bridge, its PGlite worker thread. */
  busiestOther: number;
}

/** Busy and total ticks of the whole machine, from the first line of /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  try {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = fields.slice(0, 8).reduce((s, v) => s + v, 0); // user … steal; guest is inside user
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

export interface Machine {
  cpus: number;
  loadavg1m: number;
  /** Cores kept busy over the window, by everything. */
  busyCores: number;
  /** Of those, cores kept busy by processes other than the ones measured (other work on this machine). */
  otherCores: number;
}

/** Starts a window; `stop()` answers the CPU each process used in it, and what the rest of the machine did. */
export function cpuWindow(pids: Record<string, number>): { stop(): { processes: Record<string, CpuUse>; machine: Machine } } {
  const started = performance.now();
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, threadTicks(pid)]));
  const machineBefore = machineTicks();
  return {
    stop() {
      const seconds = (performance.now() - started) / 1000;
      const machineAfter = machineTicks();
      const out: Record<string, CpuUse> = {};
      for (const [name, pid] of Object.entries(pids)) {
        const after = threadTicks(pid);
        const start = before[name]!;
        const delta = [...after].map(([tid, t]) => [tid, (t - (start.get(tid) ?? 0)) / TICKS_PER_SECOND] as const);
        const main = delta.find(([tid]) => tid === pid)?.[1] ?? 0;
        out[name] = { seconds, total: delta.reduce((s, [, t]) => s + t, 0), main, busiestOther: Math.max(0, ...delta.filter(([tid]) => tid !== pid).map(([, t]) => t)) };
      }
      const busyCores = (machineAfter.busy - machineBefore.busy) / TICKS_PER_SECOND / seconds;
      const ours = Object.values(out).reduce((s, u) => s + u.total, 0) / seconds;
      return { processes: out, machine: { cpus: cpus().length, loadavg1m: loadavg()[0]!, busyCores, otherCores: Math.max(0, busyCores - ours) } };
    },
  };
}

export const fmtCpu = (name: string, use: CpuUse): string =>
  `${name} ${((use.total / use.seconds) * 100).toFixed(0)}% (main thread ${((use.main / use.seconds) * 100).toFixed(0)}%, busiest other thread ${((use.busiestOther / use.seconds) * 100).toFixed(0)}%)`;
