/**
 * The engine's only source of time (STYLE.md: "Time comes from the injected clock, never from
 * real sleeps"). Schedules (`run_at`, deadlines, leases, pauses) are computed from `now()` and
 * stored as parameters, never from the database's `now()`, so a test can move time by hand.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export const addMs = (at: Date, ms: number): Date => new Date(at.getTime() + ms);
