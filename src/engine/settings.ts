/** The engine's knobs, with every default in one place (config.ts reads them from the environment). */
export interface GuardSettings {
  /** Hold new operations when more than this share of a connection's active users leave within the window (Default: 0.1). */
  maxShare: number;
  /** … or more than this many (Default: 50). */
  maxCount: number;
  /**
   * The share rule applies from this many operations in the window (Default: 5): without a floor,
   * one deactivation in a five-person connection (20%) would be held.
   */
  minCount: number;
  /** The window the counts run over (Default: 1 h). */
  windowMs: number;
  /** false: never hold (Default: true). */
  enabled: boolean;
}

export interface EngineSettings {
  /** Tasks one process runs at once, over all targets (Default: 16). */
  concurrency: number;
  /** How long a claim is good for without renewal; renewed every third of it while running (Default: 30 s). */
  leaseMs: number;
  /** Fallback poll when no notification arrives (Default: 2 s). */
  pollIntervalMs: number;
  /** Retry backoff after a retryable failure: base × 2^(attempt-1), jittered, capped (Default: 1 s … 5 min). */
  retryBaseMs: number;
  retryCapMs: number;
  /** Re-probe backoff after a probe that still sees access: base × 2^(probe-1), capped (Default: 250 ms … 60 s). */
  probeBaseMs: number;
  probeCapMs: number;
  /** How often escalated work is probed (and its steps retried) (Default: 5 min). */
  escalatedProbeIntervalMs: number;
  /** Consecutive retryable failures of one target that open its circuit breaker (Default: 5). */
  breakerThreshold: number;
  /** How long an open breaker pauses the target, doubled each time it re-opens, capped at 10 min (Default: 30 s). */
  breakerCooldownMs: number;
  /** Timeout of one request to a target (Default: 10 s). */
  requestTimeoutMs: number;
  /** Where escalations are announced (JSON POST, retried); unset: metric and log only. */
  escalationWebhookUrl: string | undefined;
  guard: GuardSettings;
}

export const DEFAULT_GUARD: GuardSettings = Object.freeze({ maxShare: 0.1, maxCount: 50, minCount: 5, windowMs: 3_600_000, enabled: true });

export const DEFAULT_ENGINE: EngineSettings = Object.freeze({
  concurrency: 16,
  leaseMs: 30_000,
  pollIntervalMs: 2_000,
  retryBaseMs: 1_000,
  retryCapMs: 300_000,
  probeBaseMs: 250,
  probeCapMs: 60_000,
  escalatedProbeIntervalMs: 300_000,
  breakerThreshold: 5,
  breakerCooldownMs: 30_000,
  requestTimeoutMs: 10_000,
  escalationWebhookUrl: undefined,
  guard: DEFAULT_GUARD,
});

export const engineSettings = (overrides: Partial<Omit<EngineSettings, "guard">> & { guard?: Partial<GuardSettings> } = {}): EngineSettings =>
  Object.freeze({ ...DEFAULT_ENGINE, ...overrides, guard: Object.freeze({ ...DEFAULT_GUARD, ...overrides.guard }) });
