import winston from "winston";
import TransportStream from "winston-transport";
import type { LogLevel } from "./config.js";

export type Logger = winston.Logger;

/** Keys whose values never reach a log line (DESIGN.md principle 6). Matched case-insensitively. */
const SECRET_KEYS = /^(authorization|token|access_token|refresh_token|secret|password|pass|client_secret|cookie|set-cookie|privatekey|private_key|apikey|api_key)$/i;
const PERSONAL_KEYS = /^(email|emails|mail|phonenumbers)$/i;
const EMAIL = /[^\s@"'<>]+@[^\s@"'<>]+\.[^\s@"'<>]+/g;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{16,}/gi;
const OUR_TOKENS = /\b(scb|scba)_[A-Za-z0-9_-]{20,}/g;

/** Replaces secrets and emails anywhere in a value; used by the log format and tested on its own. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return value.replace(BEARER, "$1 [redacted]").replace(OUR_TOKENS, "[redacted-token]").replace(EMAIL, "[redacted-email]");
  if (depth > 8 || value === null || typeof value !== "object") return value;
  if (value instanceof Error) return { name: value.name, message: redact(value.message, depth + 1) };
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = SECRET_KEYS.test(key) ? "[redacted]" : PERSONAL_KEYS.test(key) ? "[redacted-email]" : redact(v, depth + 1);
  }
  return out;
}

const redactFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (key === "level" || key === "timestamp") continue;
    (info as Record<string, unknown>)[key] = SECRET_KEYS.test(key) ? "[redacted]" : redact((info as Record<string, unknown>)[key]);
  }
  return info;
});

/**
 * winston's own json format configures a new safe-stable-stringify for every line and walks it
 * with a replacer; after redactFormat a line is plain data, which JSON.stringify writes at a
 * fraction of the cost. What it cannot write (a BigInt) goes to winston's format.
 */
const fallbackJson = winston.format.json();
/** Where winston's formats leave the finished line (triple-beam's MESSAGE). */
const MESSAGE = Symbol.for("message");
const jsonLine = winston.format((info) => {
  try {
    (info as unknown as Record<symbol, string>)[MESSAGE] = JSON.stringify(info);
    return info;
  } catch {
    return fallbackJson.transform(info, fallbackJson.options ?? {});
  }
});

/** How long a line may wait for others before stdout is written (Default: 20 ms). */
const FLUSH_MS = 20;
/** Pending text that is written at once, without waiting. */
const FLUSH_BYTES = 64 * 1024;

/**
 * Lines for stdout, gathered for up to FLUSH_MS and written together: under load the bridge logs
 * a line per request, and a write(2) per line (with the reader's wake-up) cost more than
 * formatting it. What is pending is written synchronously when the process exits, and a
 * collector sees each line at most FLUSH_MS late.
 */
class BatchedStdout extends TransportStream {
  #pending: string[] = [];
  #bytes = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #flush = (): void => {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.length === 0) return;
    const text = this.#pending.join("");
    this.#pending = [];
    this.#bytes = 0;
    process.stdout.write(text);
  };

  constructor() {
    super();
    process.on("exit", this.#flush);
  }

  override log(info: Record<symbol, string>, next: () => void): void {
    const line = `${info[MESSAGE]}\n`;
    this.#pending.push(line);
    this.#bytes += line.length;
    if (this.#bytes >= FLUSH_BYTES) this.#flush();
    else this.#timer ??= setTimeout(this.#flush, FLUSH_MS).unref();
    next();
  }

  override close(): void {
    this.#flush();
    process.off("exit", this.#flush);
  }
}

/** The root logger: JSON lines on stdout. Everyone else takes a child: `log.child({ module: "scim" })`. */
export function createLogger(level: LogLevel = "info", stream?: NodeJS.WritableStream): Logger {
  return winston.createLogger({
    level,
    format: winston.format.combine(winston.format.timestamp(), redactFormat(), jsonLine()),
    transports: [stream ? new winston.transports.Stream({ stream }) : new BatchedStdout()],
  });
}

/** A logger that writes nowhere, for tests that do not look at logs. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
