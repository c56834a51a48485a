/**
 * Configuration: env → a frozen, typed Config. The only reader of process.env (main.ts passes it in).
 * Every default lives here; every bad value fails start-up with the exact fix to apply.
 */
import { DEFAULT_ENGINE, DEFAULT_GUARD, engineSettings, type EngineSettings } from "./engine/settings.js";
import { parseSecretsKeys } from "./secret-box.js";

export type LogLevel = "error" | "warn" | "info" | "http" | "verbose" | "debug" | "silly";

export interface Config {
  /** TCP port of the HTTP server (Default: 3000). `0` picks a free port. */
  readonly port: number;
  /** Interface to listen on (Default: 127.0.0.1; use 0.0.0.0 in a container). */
  readonly host: string;
  /** Embedded PGlite data directory, used when no databaseUrl is set (Default: ./data). */
  readonly dataDir: string;
  /** PostgreSQL server URL; unset → embedded PGlite in dataDir. */
  readonly databaseUrl: string | undefined;
  /** Connections in the pg pool (Default: 10). */
  readonly pgPoolMax: number;
  /** Embedded PGlite's shared_buffers in MiB (Default: 32): memory kept for PostgreSQL's page cache. */
  readonly pgliteSharedBuffersMb: number;
  /** winston level (Default: info). */
  readonly logLevel: LogLevel;
  /** On first start, becomes the initial admin token (role admin). Unset → one is generated and printed once. */
  readonly adminToken: string | undefined;
  /** The URL IdPs use to reach the bridge, for SCIM `meta.location` and printed URLs (Default: http://HOST:PORT). */
  readonly publicUrl: string | undefined;
  /** Largest accepted request body in bytes (Default: 1 MiB); larger → 413. */
  readonly maxBodyBytes: number;
  /** Most resources one list response returns (Default: 1000), announced as filter.maxResults. */
  readonly maxResults: number;
  /** Most operations one /Bulk request may carry (Default: 1000). */
  readonly bulkMaxOperations: number;
  /** Create a connection named "demo" with a bearer token on the first start (Default: true). */
  readonly demoConnection: boolean;
  /** How long SIGTERM waits for in-flight requests before closing anyway (Default: 10000). */
  readonly shutdownTimeoutMs: number;
  /** Run the deprovisioning workers in this process (Default: true). */
  readonly engineEnabled: boolean;
  /** The engine's knobs (engine/settings.ts has each default and its meaning). */
  readonly engine: EngineSettings;
  /** Connector modules to load besides the built-in ones: paths, comma-separated (Default: none). */
  readonly connectorModules: readonly string[];
  /** A folder whose connector modules (`*.js`, `*.mjs`, `<name>/index.js`) are loaded at start (Default: none). */
  readonly connectorsDir: string | undefined;
  /**
   * SECRETS_KEY: the AES-256-GCM keys that seal connector secrets at rest, newest first (rotate by
   * prepending a new key). Unset → one key generated into DATA_DIR/secrets.key on first start.
   */
  readonly secretsKeys: readonly Buffer[] | undefined;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super("Invalid configuration:\n" + problems.map((p) => `  - ${p}`).join("\n"));
    this.name = "ConfigError";
  }
}

const LOG_LEVELS: readonly LogLevel[] = ["error", "warn", "info", "http", "verbose", "debug", "silly"];

type Env = Readonly<Record<string, string | undefined>>;

export function loadConfig(env: Env): Config {
  const problems: string[] = [];
  const text = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === "" ? undefined : value;
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
      problems.push(`${name}=${JSON.stringify(raw)} is not a whole number from ${min} to ${max}; set e.g. ${name}=${fallback}`);
      return fallback;
    }
    return value;
  };
  const decimal = (name: string, fallback: number, min: number, max: number): number => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+(\.\d+)?$/.test(raw) || value < min || value > max) {
      problems.push(`${name}=${JSON.stringify(raw)} is not a number from ${min} to ${max}; set e.g. ${name}=${fallback}`);
      return fallback;
    }
    return value;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = text(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (["1", "true", "yes", "on"].includes(raw)) return true;
    if (["0", "false", "no", "off"].includes(raw)) return false;
    problems.push(`${name}=${JSON.stringify(env[name])} is not a boolean; use true or false`);
    return fallback;
  };
  const url = (name: string, protocols: string[]): string | undefined => {
    const raw = text(name);
    if (raw === undefined) return undefined;
    try {
      const parsed = new URL(raw);
      if (!protocols.includes(parsed.protocol)) throw new Error("protocol");
      return raw;
    } catch {
      problems.push(`${name} is not a valid ${protocols.map((p) => p.replace(":", "://")).join(" or ")} URL; got ${redactUrl(raw)}`);
      return undefined;
    }
  };

  const port = integer("PORT", 3000, 0, 65535);
  const host = text("HOST") ?? "127.0.0.1";
  const logLevelRaw = (text("LOG_LEVEL") ?? "info").toLowerCase();
  const logLevel = LOG_LEVELS.includes(logLevelRaw as LogLevel) ? (logLevelRaw as LogLevel) : "info";
  if (!LOG_LEVELS.includes(logLevelRaw as LogLevel)) problems.push(`LOG_LEVEL=${JSON.stringify(env.LOG_LEVEL)} is unknown; use one of ${LOG_LEVELS.join(", ")}`);
  const adminToken = text("ADMIN_TOKEN");
  if (adminToken !== undefined && adminToken.length < 24) problems.push("ADMIN_TOKEN is shorter than 24 characters; use a random value, e.g. `openssl rand -hex 32`");
  const publicUrl = url("PUBLIC_URL", ["http:", "https:"]);
  const secretsKeyText = text("SECRETS_KEY");
  let secretsKeys: Buffer[] | undefined;
  if (secretsKeyText !== undefined) {
    const parsed = parseSecretsKeys(secretsKeyText);
    if ("problem" in parsed) problems.push(parsed.problem);
    else secretsKeys = parsed.keys;
  }

  const config: Config = {
    port,
    host,
    dataDir: text("DATA_DIR") ?? "./data",
    databaseUrl: url("DATABASE_URL", ["postgres:", "postgresql:"]),
    pgPoolMax: integer("PG_POOL_MAX", 10, 1, 500),
    pgliteSharedBuffersMb: integer("PGLITE_SHARED_BUFFERS_MB", 32, 16, 4096),
    logLevel,
    adminToken,
    publicUrl: publicUrl?.replace(/\/+$/, ""),
    maxBodyBytes: integer("MAX_BODY_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024),
    maxResults: integer("SCIM_MAX_RESULTS", 1000, 1, 100_000),
    bulkMaxOperations: integer("SCIM_BULK_MAX_OPERATIONS", 1000, 1, 100_000),
    demoConnection: bool("DEMO_CONNECTION", true),
    shutdownTimeoutMs: integer("SHUTDOWN_TIMEOUT_MS", 10_000, 0, 600_000),
    engineEnabled: bool("ENGINE", true),
    engine: engineSettings({
      concurrency: integer("WORKER_CONCURRENCY", DEFAULT_ENGINE.concurrency, 1, 1000),
      leaseMs: integer("TASK_LEASE_MS", DEFAULT_ENGINE.leaseMs, 1_000, 3_600_000),
      pollIntervalMs: integer("WORKER_POLL_INTERVAL_MS", DEFAULT_ENGINE.pollIntervalMs, 50, 600_000),
      retryBaseMs: integer("RETRY_BASE_MS", DEFAULT_ENGINE.retryBaseMs, 1, 3_600_000),
      retryCapMs: integer("RETRY_CAP_MS", DEFAULT_ENGINE.retryCapMs, 1, 86_400_000),
      probeBaseMs: integer("PROBE_BASE_MS", DEFAULT_ENGINE.probeBaseMs, 1, 3_600_000),
      probeCapMs: integer("PROBE_CAP_MS", DEFAULT_ENGINE.probeCapMs, 1, 86_400_000),
      escalatedProbeIntervalMs: integer("ESCALATED_PROBE_INTERVAL_MS", DEFAULT_ENGINE.escalatedProbeIntervalMs, 1_000, 86_400_000),
      breakerThreshold: integer("BREAKER_THRESHOLD", DEFAULT_ENGINE.breakerThreshold, 1, 1000),
      breakerCooldownMs: integer("BREAKER_COOLDOWN_MS", DEFAULT_ENGINE.breakerCooldownMs, 100, 3_600_000),
      requestTimeoutMs: integer("TARGET_TIMEOUT_MS", DEFAULT_ENGINE.requestTimeoutMs, 100, 600_000),
      escalationWebhookUrl: url("ESCALATION_WEBHOOK_URL", ["http:", "https:"]),
      guard: {
        enabled: bool("GUARD", DEFAULT_GUARD.enabled),
        maxShare: decimal("GUARD_MAX_SHARE", DEFAULT_GUARD.maxShare, 0, 1),
        maxCount: integer("GUARD_MAX_COUNT", DEFAULT_GUARD.maxCount, 1, 10_000_000),
        minCount: integer("GUARD_MIN_COUNT", DEFAULT_GUARD.minCount, 1, 10_000_000),
        windowMs: integer("GUARD_WINDOW_MS", DEFAULT_GUARD.windowMs, 1_000, 30 * 86_400_000),
      },
    }),
    connectorModules: (text("CONNECTOR_MODULES") ?? "").split(",").map((p) => p.trim()).filter((p) => p !== ""),
    connectorsDir: text("CONNECTORS_DIR"),
    secretsKeys,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

/** The URL IdPs reach: PUBLIC_URL, else what we listen on. */
export function baseUrl(config: Config, boundPort: number): string {
  if (config.publicUrl) return config.publicUrl;
  const host = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
  return `http://${host.includes(":") ? `[${host}]` : host}:${boundPort}`;
}

function redactUrl(raw: string): string {
  return JSON.stringify(raw.replace(/\/\/([^@/]*)@/, "//***@"));
}
