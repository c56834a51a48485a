import winston from "winston";
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

/** The root logger: JSON lines on stdout. Everyone else takes a child: `log.child({ module: "scim" })`. */
export function createLogger(level: LogLevel = "info", stream?: NodeJS.WritableStream): Logger {
  return winston.createLogger({
    level,
    format: winston.format.combine(winston.format.timestamp(), redactFormat(), winston.format.json()),
    transports: [stream ? new winston.transports.Stream({ stream }) : new winston.transports.Console()],
  });
}

/** A logger that writes nowhere, for tests that do not look at logs. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
