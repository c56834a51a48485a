/**
 * Response conditions: what an answer must look like to mean found, absent, done, already-done,
 * revoked or not-revoked. One condition is an object whose parts must all hold:
 *
 *   status: 200 | [200, 404] | "2xx"            the HTTP status
 *   jsonPath: "$.data.status" + one operator:   a value in the body (json-path.ts)
 *     equals: <JSON>     deep-equal, types strict ("false" is not false)
 *     in: [<JSON>, …]    deep-equal to one of them
 *     contains: <JSON>   a list with an element deep-equal to it, or text containing it
 *     excludes: <JSON>   a list with no element deep-equal to it, or text not containing it
 *     exists: true|false present and not null / missing or null
 *     empty: true|false  an empty (or non-empty) list, text or object; false when missing
 *   all: [<condition>, …]   any: [<condition>, …]   not: <condition>
 *
 * Expected values may be templates (`equals: "{{intent.entitlement}}"`). A missing value never
 * satisfies equals/in/contains/excludes/empty, so an unexpected body shape matches nothing and the
 * connector throws instead of guessing. (`not` turns "missing" into a match, which is why the
 * definition refuses it in `revoked` and `absent`: use excludes, in or exists there.)
 */
import { isObject, JsonPathError, lookup, parseJsonPath, type JsonPath } from "./json-path.js";
import { member, type Problems } from "./problems.js";
import { parseJsonTemplate, renderJson, type JsonTemplate, type TemplateScope, type TemplateUse } from "./template.js";

export type StatusMatch = number | "2xx";

export type Operator = "equals" | "in" | "contains" | "excludes" | "exists" | "empty";
const OPERATORS: readonly Operator[] = ["equals", "in", "contains", "excludes", "exists", "empty"];
const KEYS = ["status", "jsonPath", ...OPERATORS, "all", "any", "not"] as const;

export interface Condition {
  status?: readonly StatusMatch[];
  value?: { path: JsonPath; operator: Operator; expected: JsonTemplate };
  all?: readonly Condition[];
  any?: readonly Condition[];
  not?: Condition;
}

export interface ConditionOptions {
  /** Why a status may not be named here, or null when it may (Default: any of 100–599 may). */
  allowStatus?: (status: number) => string | null;
  /** Why `not` may not be used here, or null when it may (Default: it may). */
  refuseNot?: string;
}

/** Parses a condition written at `at`; records problems and template uses, returns null when unusable. */
export function parseCondition(input: unknown, at: string, problems: Problems, uses: TemplateUse[], options: ConditionOptions = {}): Condition | null {
  if (!isObject(input)) {
    problems.add(at, 'must be a condition object, e.g. {status: 200} or {jsonPath: "$.active", equals: false}');
    return null;
  }
  const before = problems.list.length;
  problems.unknownKeys(at, input, KEYS);
  const condition: Condition = {};
  if (input.status !== undefined) condition.status = parseStatus(input.status, `${at}.status`, problems, options);
  const operators = OPERATORS.filter((op) => input[op] !== undefined);
  if (input.jsonPath !== undefined) {
    let path: JsonPath | null = null;
    try {
      path = parseJsonPath(input.jsonPath as string);
    } catch (error) {
      if (!(error instanceof JsonPathError)) throw error;
      problems.add(`${at}.jsonPath`, error.message);
    }
    if (operators.length !== 1) {
      problems.add(at, `needs exactly one of ${OPERATORS.join(", ")} with jsonPath${operators.length ? `, got ${operators.join(" and ")}` : ""}`);
    } else if (path) {
      const operator = operators[0]!;
      const raw = input[operator];
      if ((operator === "exists" || operator === "empty") && typeof raw !== "boolean") problems.add(member(at, operator), "must be true or false");
      if (operator === "in" && (!Array.isArray(raw) || raw.length === 0)) problems.add(`${at}.in`, "must be a non-empty list of values");
      condition.value = { path, operator, expected: parseJsonTemplate(raw, member(at, operator), "condition", problems, uses) };
    }
  } else if (operators.length > 0) {
    problems.add(at, `${operators.join(", ")} needs a jsonPath saying which value to compare`);
  }
  for (const key of ["all", "any"] as const) {
    if (input[key] === undefined) continue;
    const list = input[key];
    if (!Array.isArray(list) || list.length === 0) {
      problems.add(`${at}.${key}`, "must be a non-empty list of conditions");
      continue;
    }
    condition[key] = list.map((item, i) => parseCondition(item, `${at}.${key}[${i}]`, problems, uses, options)).filter((c): c is Condition => c !== null);
  }
  if (input.not !== undefined && options.refuseNot) problems.add(`${at}.not`, options.refuseNot);
  else if (input.not !== undefined) condition.not = parseCondition(input.not, `${at}.not`, problems, uses, options) ?? {};
  if (!["status", "jsonPath", "all", "any", "not"].some((key) => input[key] !== undefined)) {
    problems.add(at, "is empty: give a status, a jsonPath with an operator, all, any or not");
  }
  return problems.list.length === before ? condition : null;
}

function parseStatus(input: unknown, at: string, problems: Problems, options: ConditionOptions): StatusMatch[] {
  const list = Array.isArray(input) ? input : [input];
  if (list.length === 0) problems.add(at, "must name at least one status");
  const out: StatusMatch[] = [];
  for (const item of list) {
    if (item === "2xx") {
      out.push(item);
    } else if (typeof item === "number" && Number.isInteger(item) && item >= 100 && item <= 599) {
      const refused = options.allowStatus?.(item);
      if (refused) problems.add(at, refused);
      else out.push(item);
    } else {
      problems.add(at, `must be a status (100–599), "2xx" or a list of them, got ${JSON.stringify(item)}`);
    }
  }
  return out;
}

/** The statuses other than 2xx a condition names: the request must accept them as answers. */
export function statusesOf(condition: Condition | undefined): number[] {
  if (!condition) return [];
  const own = (condition.status ?? []).filter((s): s is number => typeof s === "number" && (s < 200 || s > 299));
  const nested = [...(condition.all ?? []), ...(condition.any ?? []), ...(condition.not ? [condition.not] : [])].flatMap(statusesOf);
  return [...own, ...nested];
}

export interface Answer {
  status: number;
  body: unknown;
}

/** Whether the condition holds, and the observed values that decided it (`$.active=false`). */
export interface Outcome {
  holds: boolean;
  observed: string[];
}

export function evaluate(condition: Condition, answer: Answer, scope: TemplateScope): Outcome {
  const parts: Outcome[] = [];
  if (condition.status) {
    const holds = condition.status.some((s) => (s === "2xx" ? answer.status >= 200 && answer.status <= 299 : s === answer.status));
    parts.push({ holds, observed: [] });
  }
  if (condition.value) parts.push(evaluateValue(condition.value, answer.body, scope));
  if (condition.all) parts.push(combine(condition.all.map((c) => evaluate(c, answer, scope)), "all"));
  if (condition.any) parts.push(combine(condition.any.map((c) => evaluate(c, answer, scope)), "any"));
  if (condition.not) {
    const inner = evaluate(condition.not, answer, scope);
    parts.push({ holds: !inner.holds, observed: inner.observed });
  }
  return combine(parts, "all");
}

/** all: every part holds, all observations; any: some part holds, the observations of those that do. */
function combine(parts: Outcome[], how: "all" | "any"): Outcome {
  const holds = how === "all" ? parts.every((p) => p.holds) : parts.some((p) => p.holds);
  const shown = how === "any" && holds ? parts.filter((p) => p.holds) : parts;
  return { holds, observed: [...new Set(shown.flatMap((p) => p.observed))] };
}

function evaluateValue(value: NonNullable<Condition["value"]>, body: unknown, scope: TemplateScope): Outcome {
  const found = lookup(value.path, body);
  const observed = [found.found ? `${value.path.source}=${show(found.value)}` : `${value.path.source} missing`];
  const expected = renderJson(value.expected, scope);
  const actual = found.found ? found.value : undefined;
  let holds: boolean;
  switch (value.operator) {
    case "equals":
      holds = found.found && deepEqual(actual, expected);
      break;
    case "in":
      holds = found.found && Array.isArray(expected) && expected.some((e) => deepEqual(actual, e));
      break;
    case "contains":
    case "excludes": {
      const listed = Array.isArray(actual) ? actual.some((e) => deepEqual(e, expected)) : typeof actual === "string" && typeof expected === "string" ? actual.includes(expected) : undefined;
      holds = listed !== undefined && listed === (value.operator === "contains");
      break;
    }
    case "exists":
      holds = (actual !== undefined && actual !== null) === expected;
      break;
    case "empty": {
      const size = Array.isArray(actual) || typeof actual === "string" ? actual.length : isObject(actual) ? Object.keys(actual).length : undefined;
      holds = size !== undefined && (size === 0) === expected;
      break;
    }
  }
  return { holds, observed };
}

/** A short rendering of an observed value for evidence (JSON, cut at 60 characters). */
export function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}
