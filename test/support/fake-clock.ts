import type { Clock } from "../../src/engine/clock.js";

/** A clock that moves only when a test says so. */
export interface FakeClock extends Clock {
  advance(ms: number): Date;
  set(at: Date | string): Date;
}

export function fakeClock(start: Date | string = "2026-01-05T09:00:00.000Z"): FakeClock {
  let current = new Date(start).getTime();
  return {
    now: () => new Date(current),
    advance: (ms) => new Date((current += ms)),
    set: (at) => new Date((current = new Date(at).getTime())),
  };
}
