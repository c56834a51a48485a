/**
 * Running one exchange of a compiled definition: render the request from the scope, send it
 * through `ctx.http`, and judge the answer — `errors` rules first, then the outcome conditions,
 * then the default classifier (`classifyHttpStatus`) for a status no condition claimed. Evidence
 * and messages never carry a secret: the request shape keeps secrets out of paths and conditions,
 * and every text leaving here is scrubbed of the config's secret values as well.
 */
import { classifyHttpStatus, parseRetryAfter, TargetError, type TargetContext } from "../../src/connector-kit.js";
import { evaluate, type Condition } from "./conditions.js";
import { isDotSegment } from "./requests.js";
import { DEFAULT_RETRY_AFTER_MS, type CompiledDefinition, type Exchange, type HttpConfig, type RequestSpec } from "./spec.js";
import { member } from "./problems.js";
import { renderJson, renderText, TemplateError, type Template, type TemplateScope } from "./template.js";

export interface Answer {
  /** `GET /users/u-1`: the method and the path under baseUrl, no query. */
  what: string;
  status: number;
  headers: Headers;
  body: unknown;
}

/** A condition that held, with the observed values that decided it. */
export interface Verdict<N extends string> {
  name: N;
  observed: string[];
}

const EXCERPT_CHARS = 200;
const EMAIL = /[^\s@"'<>]+@[^\s@"'<>]+\.[^\s@"'<>]+/g;

/** Replaces every secret value of the config in `text` with [secret]. */
export function scrub(text: string, def: CompiledDefinition): string {
  let out = text;
  for (const secret of Object.values(def.secrets)) if (secret.length >= 3) out = out.split(secret).join("[secret]");
  return out;
}

/** A template's text, or TargetError permanent naming the template and where it is. */
function render<T>(at: string, fill: () => T): T {
  try {
    return fill();
  } catch (error) {
    if (error instanceof TemplateError) throw new TargetError("permanent", `${at}: ${error.message}; fix the definition or the data it reads`, { cause: error });
    throw error;
  }
}

function renderPath(spec: RequestSpec, scope: TemplateScope): string {
  const path = render(`${spec.at}.path`, () => renderText(spec.path, scope, { encode: encodeURIComponent }));
  if (path.split("/").some(isDotSegment)) {
    throw new TargetError("permanent", `${spec.at}.path: a value made a "." or ".." segment; refused so the request cannot reach another resource`);
  }
  return path;
}

function renderHeader(at: string, template: Template, scope: TemplateScope): string {
  const value = render(at, () => renderText(template, scope));
  if (/[\r\n\0]/.test(value)) throw new TargetError("permanent", `${at}: a value has a line break, refused in a header`);
  return value;
}

/** Sends the exchange's request; failures the default classifier knows come back as TargetError from ctx.http. */
export async function send(ex: Exchange, def: CompiledDefinition, scope: TemplateScope, ctx: TargetContext<HttpConfig>): Promise<Answer> {
  const spec = ex.request;
  const path = renderPath(spec, scope);
  const query = Object.fromEntries(spec.query.map(([key, template]) => [key, render(member(`${spec.at}.query`, key), () => renderText(template, scope))]));
  const headers = Object.fromEntries(spec.headers.map(([name, template]) => [name.toLowerCase(), renderHeader(member(`${spec.at}.headers`, name), template, scope)]));
  const json = spec.body === undefined ? undefined : render(`${spec.at}.body`, () => renderJson(spec.body!, scope));
  const response = await ctx.http.request(def.baseUrl + path, {
    method: spec.method,
    headers,
    query,
    ...(json === undefined ? {} : { json }),
    accept: ex.accept,
    ...(spec.timeoutMs ? { timeoutMs: spec.timeoutMs } : {}),
  });
  return { what: scrub(`${spec.method} ${path}`, def), status: response.status, headers: response.headers, body: response.body };
}

/**
 * The outcome conditions that hold for the answer. Throws the matching `errors` rule's TargetError
 * first; throws the default classification for a non-2xx status no condition claims, and
 * `permanent` for a 2xx that none does (with a short body excerpt).
 */
export function judge<N extends string>(
  answer: Answer,
  ex: Exchange,
  outcomes: readonly [N, Condition | undefined][],
  def: CompiledDefinition,
  scope: TemplateScope,
  ctx: TargetContext<HttpConfig>,
): Verdict<N>[] {
  const at = ex.request.at.replace(/\.request$/, "");
  const check = (condition: Condition, where: string) => render(where, () => evaluate(condition, answer, scope));
  for (const rule of ex.errors) {
    if (!check(rule.when, `${rule.at}.when`).holds) continue;
    const retryAfterMs = rule.kind === "rate-limited" ? parseRetryAfter(answer.headers.get("retry-after"), ctx.now()) ?? rule.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS : undefined;
    const message = `${answer.what} answered ${answer.status}${rule.message ? `: ${scrub(rule.message, def)}` : ""} (${rule.at})`;
    throw new TargetError(rule.kind, message, { status: answer.status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
  }
  const verdicts: Verdict<N>[] = [];
  for (const [name, condition] of outcomes) {
    if (!condition) continue;
    const outcome = check(condition, `${at}.${name}`);
    if (outcome.holds) verdicts.push({ name, observed: outcome.observed });
  }
  if (verdicts.length > 0) return verdicts;
  const kind = classifyHttpStatus(answer.status);
  if (answer.status < 200 || answer.status > 299) {
    const retryAfterMs = kind === "rate-limited" ? parseRetryAfter(answer.headers.get("retry-after"), ctx.now()) : undefined;
    throw new TargetError(kind ?? "permanent", `${answer.what} answered ${answer.status}`, { status: answer.status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
  }
  const names = outcomes.filter(([, c]) => c).map(([n]) => n).join(", ");
  throw new TargetError("permanent", `${answer.what} answered ${answer.status}, which matches none of ${names} (${at}): ${excerpt(answer.body, def)}`, { status: answer.status });
}

/** The body, short, without secrets or email addresses, for an error message. */
export function excerpt(body: unknown, def: CompiledDefinition): string {
  const text = typeof body === "string" ? body : JSON.stringify(body) ?? "";
  const cut = text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS)}…` : text;
  return scrub(cut, def).replace(EMAIL, "[email]") || "(empty body)";
}

/** `GET /users/u-1 → 200, $.active=false, $.sessions=0`. */
export const evidenceOf = (answer: Answer, observed: readonly string[], def: CompiledDefinition): string =>
  scrub(`${answer.what} → ${answer.status}${observed.length > 0 ? `, ${observed.join(", ")}` : ""}`, def);
