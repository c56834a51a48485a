/**
 * Checking one exchange of a definition: its request (method, path, query, headers, body), its
 * `errors` rules, and the outcome conditions, whose non-2xx statuses become what the request
 * accepts as answers.
 */
import type { IntentKind, TargetErrorKind } from "../../src/connector-kit.js";
import { parseCondition, statusesOf, type Condition } from "./conditions.js";
import { isObject } from "./json-path.js";
import { member } from "./problems.js";
import { collect, ERROR_KINDS, HEADER_NAME, INTENTS, MAX_TIMEOUT_MS, METHODS, STEP_METHODS, type Ctx, type ErrorRule, type Exchange, type Method, type RequestSpec, type Section } from "./spec.js";
import { parseJsonTemplate, parseTemplateAt, type JsonTemplate, type Template } from "./template.js";

const answerStatus = (s: number): string | null =>
  s === 429 ? "must not name 429: it is always rate-limited and honours Retry-After"
  : s === 401 || s === 403 ? `must not name ${s}: it means the credentials lack access (auth); refine it under errors if the API uses it otherwise`
  : s >= 500 ? `must not name ${s}: 5xx is retried; refine it under errors if the API uses it otherwise`
  : null;

const NOT_REFUSED = "is refused here: a missing or unexpected value would then count as proof; use excludes, in, exists or equals";

/**
 * A condition that decides an outcome: 401/403, 429 and 5xx are never answers (use `errors` to
 * refine them); `revoked` and `absent`, which end the work, may not use `not`.
 */
export function outcome(input: unknown, at: string, ctx: Ctx, section: Section): Condition | null {
  const proof = /\.(revoked|absent)$/.test(at);
  return collect(ctx, section, (uses) => parseCondition(input, at, ctx.problems, uses, { allowStatus: answerStatus, ...(proof ? { refuseNot: NOT_REFUSED } : {}) }));
}

export function exchange(input: Record<string, unknown>, at: string, ctx: Ctx, section: Section, outcomes: readonly string[], read: boolean): Exchange | null {
  ctx.problems.unknownKeys(at, input, ["request", "errors", ...outcomes, ...(section === "find" ? ["capture"] : []), ...(INTENTS.includes(section as IntentKind) && !read ? ["name", "observable"] : [])]);
  const request = parseRequest(input.request, `${at}.request`, ctx, section, read);
  const errors = [...parseErrors(input.errors, `${at}.errors`, ctx, section), ...ctx.errors];
  return request ? { request, errors, accept: [] } : null;
}

/** Adds the statuses the outcome and errors conditions name to what the request accepts. */
export function withAccept<T extends Exchange>(spec: T, conditions: readonly (Condition | undefined)[]): T {
  const statuses = [...conditions.flatMap(statusesOf), ...spec.errors.flatMap((rule) => statusesOf(rule.when))];
  return { ...spec, accept: [...new Set(statuses)].sort((a, b) => a - b) };
}

export function parseRequest(input: unknown, at: string, ctx: Ctx, section: Section, read: boolean): RequestSpec | null {
  const { problems } = ctx;
  if (!isObject(input)) {
    problems.add(at, "is required: {method, path, query?, headers?, body?}");
    return null;
  }
  problems.unknownKeys(at, input, ["method", "path", "query", "headers", "body", "timeoutMs", "readOnly"]);
  const method = input.method ?? "GET";
  const allowed = read ? (input.readOnly === true ? ["GET", "POST"] : ["GET"]) : STEP_METHODS;
  if (typeof method !== "string" || !(METHODS as readonly string[]).includes(method)) {
    problems.add(`${at}.method`, `must be one of ${allowed.join(", ")}`);
  } else if (!allowed.includes(method as Method)) {
    problems.add(`${at}.method`, read
      ? `must be GET here: this request only reads (a read-only search by POST needs readOnly: true)`
      : `must be one of ${STEP_METHODS.join(", ")}: a step changes something (reads belong in verify)`);
  }
  if (input.readOnly !== undefined && (typeof input.readOnly !== "boolean" || !read)) problems.add(`${at}.readOnly`, read ? "must be true or false" : "is only for validate, find and verify requests");
  const path = parsePath(input.path, `${at}.path`, ctx, section);
  const query: [string, Template][] = [];
  if (input.query !== undefined) {
    if (!isObject(input.query)) problems.add(`${at}.query`, "must be an object of name: value");
    else for (const [key, value] of Object.entries(input.query)) {
      const text = typeof value === "number" || typeof value === "boolean" ? String(value) : value;
      const template = collect(ctx, section, (uses) => parseTemplateAt(text, member(`${at}.query`, key), "query", problems, uses));
      if (template) query.push([key, template]);
    }
  }
  const own = parseHeaders(input.headers, `${at}.headers`, ctx, section);
  const headers = [...ctx.headers.filter(([name]) => !own.some(([n]) => n.toLowerCase() === name.toLowerCase())), ...own];
  let body: JsonTemplate | undefined;
  if (input.body !== undefined) {
    if (method === "GET") problems.add(`${at}.body`, "is not sent with GET; remove it or use query");
    else body = collect(ctx, section, (uses) => parseJsonTemplate(input.body, `${at}.body`, "body", problems, uses));
  }
  const timeoutMs = input.timeoutMs;
  if (timeoutMs !== undefined && (typeof timeoutMs !== "number" || !Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS)) {
    problems.add(`${at}.timeoutMs`, `must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}`);
  }
  if (!path || typeof method !== "string") return null;
  return { at, method: method as Method, path, query, headers, ...(body ? { body } : {}), ...(typeof timeoutMs === "number" ? { timeoutMs } : {}) };
}

function parsePath(input: unknown, at: string, ctx: Ctx, section: Section): Template | null {
  if (typeof input !== "string" || !input.startsWith("/")) {
    ctx.problems.add(at, `must be a path starting with "/" (relative to baseUrl), e.g. "/users/{{account.id}}"`);
    return null;
  }
  if (/[?#]/.test(input.replace(/\{\{.*?\}\}/g, ""))) ctx.problems.add(at, "must not contain ? or #: put query parameters under query");
  const literal = input.replace(/\{\{.*?\}\}/g, "x").split("/");
  if (literal.some((segment) => isDotSegment(segment))) ctx.problems.add(at, 'must not contain "." or ".." segments');
  return collect(ctx, section, (uses) => parseTemplateAt(input, at, "path", ctx.problems, uses));
}

/** A segment the URL parser would resolve away: ".", "..", or those spelled with %2e. */
export const isDotSegment = (segment: string): boolean => [".", ".."].includes(segment.replace(/%2e/gi, "."));

export function parseHeaders(input: unknown, at: string, ctx: Ctx, section: Section): [string, Template][] {
  if (input === undefined) return [];
  if (!isObject(input)) {
    ctx.problems.add(at, "must be an object of header: value");
    return [];
  }
  const out: [string, Template][] = [];
  for (const [name, value] of Object.entries(input)) {
    if (!HEADER_NAME.test(name)) ctx.problems.add(member(at, name), "is not a valid header name");
    const template = collect(ctx, section, (uses) => parseTemplateAt(value, member(at, name), "header", ctx.problems, uses));
    if (template) out.push([name, template]);
  }
  return out;
}

export function parseErrors(input: unknown, at: string, ctx: Ctx, section: Section): ErrorRule[] {
  if (input === undefined) return [];
  if (!Array.isArray(input)) {
    ctx.problems.add(at, "must be a list of {when, kind, message?, retryAfterMs?}");
    return [];
  }
  const rules: ErrorRule[] = [];
  input.forEach((rule, i) => {
    const ruleAt = `${at}[${i}]`;
    if (!isObject(rule)) return ctx.problems.add(ruleAt, "must be {when, kind, message?, retryAfterMs?}");
    ctx.problems.unknownKeys(ruleAt, rule, ["when", "kind", "message", "retryAfterMs"]);
    const when = collect(ctx, section, (uses) => parseCondition(rule.when, `${ruleAt}.when`, ctx.problems, uses));
    const kind = rule.kind as TargetErrorKind;
    if (!ERROR_KINDS.includes(kind)) ctx.problems.add(`${ruleAt}.kind`, `must be one of ${ERROR_KINDS.join(", ")}`);
    if (rule.message !== undefined && typeof rule.message !== "string") ctx.problems.add(`${ruleAt}.message`, "must be text");
    const wait = rule.retryAfterMs;
    if (wait !== undefined && (typeof wait !== "number" || !Number.isInteger(wait) || wait < 0 || kind !== "rate-limited")) {
      ctx.problems.add(`${ruleAt}.retryAfterMs`, "must be a whole number of milliseconds ≥ 0, on a rate-limited rule");
    }
    if (when && ERROR_KINDS.includes(kind)) {
      rules.push({ at: ruleAt, when, kind, ...(typeof rule.message === "string" ? { message: rule.message } : {}), ...(typeof wait === "number" ? { retryAfterMs: wait } : {}) });
    }
  });
  return rules;
}
