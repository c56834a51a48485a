/**
 * SCIM filters for the independent peer, written from RFC 7644 §3.4.2.2: attribute paths with
 * `eq ne co sw ew pr`, joined by `and` / `or`, grouped with parentheses, `not (…)`. Values are JSON
 * literals (strings with JSON escapes, numbers, true/false/null). Attribute names are
 * case-insensitive; string comparison honours each attribute's caseExact (RFC 7643 §7).
 */
import { ScimProblem } from "./scim-errors.js";

export type Filter =
  | { op: "and" | "or"; left: Filter; right: Filter }
  | { op: "not"; filter: Filter }
  | { op: "pr"; path: string }
  | { op: "eq" | "ne" | "co" | "sw" | "ew"; path: string; value: string | number | boolean | null };

type Token = { kind: "word"; text: string } | { kind: "value"; value: string | number | boolean | null } | { kind: "(" | ")" };

const invalid = (detail: string) => new ScimProblem(400, detail, "invalidFilter");

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (c === " " || c === "\t") { i++; continue; }
    if (c === "(" || c === ")") { tokens.push({ kind: c }); i++; continue; }
    if (c === '"') {
      let j = i + 1;
      while (j < input.length && input[j] !== '"') j += input[j] === "\\" ? 2 : 1;
      if (j >= input.length) throw invalid("unterminated string in filter");
      try {
        tokens.push({ kind: "value", value: JSON.parse(input.slice(i, j + 1)) as string });
      } catch {
        throw invalid("bad escape in a filter string");
      }
      i = j + 1;
      continue;
    }
    let j = i;
    while (j < input.length && !" \t()\"".includes(input[j]!)) j++;
    const word = input.slice(i, j);
    if (/^(true|false|null)$/i.test(word)) tokens.push({ kind: "value", value: JSON.parse(word.toLowerCase()) as boolean | null });
    else if (/^-?\d+(\.\d+)?$/.test(word)) tokens.push({ kind: "value", value: Number(word) });
    else tokens.push({ kind: "word", text: word });
    i = j;
  }
  return tokens;
}

/** Parses a filter; a syntax error is 400 invalidFilter. */
export function parseFilter(input: string): Filter {
  const tokens = tokenize(input);
  let at = 0;
  const peekWord = () => { const t = tokens[at]; return t?.kind === "word" ? t.text.toLowerCase() : undefined; };

  const expression = (): Filter => {
    let left = conjunction();
    while (peekWord() === "or") { at++; left = { op: "or", left, right: conjunction() }; }
    return left;
  };
  const conjunction = (): Filter => {
    let left = term();
    while (peekWord() === "and") { at++; left = { op: "and", left, right: term() }; }
    return left;
  };
  const term = (): Filter => {
    const t = tokens[at++];
    if (!t) throw invalid("filter ends too early");
    if (t.kind === "(") {
      const inner = expression();
      if (tokens[at++]?.kind !== ")") throw invalid("missing ) in filter");
      return inner;
    }
    if (t.kind === "word" && t.text.toLowerCase() === "not") {
      if (tokens[at]?.kind !== "(") throw invalid("not must be followed by (");
      return { op: "not", filter: term() };
    }
    if (t.kind !== "word" || !/^(urn:[^\s]+:)?[A-Za-z$][\w$-]*(\.[A-Za-z$][\w$-]*)?$/.test(t.text)) throw invalid("expected an attribute path in filter");
    const op = tokens[at++];
    if (op?.kind !== "word") throw invalid(`expected an operator after ${t.text}`);
    const name = op.text.toLowerCase();
    if (name === "pr") return { op: "pr", path: t.text };
    if (!["eq", "ne", "co", "sw", "ew"].includes(name)) throw invalid(`operator ${op.text} is not supported`);
    const value = tokens[at++];
    if (value?.kind !== "value") throw invalid(`expected a value after ${t.text} ${op.text}`);
    return { op: name as "eq", path: t.text, value: value.value };
  };

  const filter = expression();
  if (at !== tokens.length) throw invalid("unexpected text after the filter");
  return filter;
}

/** What a resource type lets clients filter on, and which of those compare case-exactly. */
export interface Filterable {
  attributes: ReadonlySet<string>;
  caseExact: ReadonlySet<string>;
}

function get(resource: Record<string, unknown>, name: string): unknown {
  const lower = name.toLowerCase();
  const key = Object.keys(resource).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : resource[key];
}

/**
 * The values a path selects: `emails.value` collects the sub-attribute across the multi-valued
 * attribute; a complex multi-valued attribute without a sub-attribute (`emails`, `members`)
 * compares its `value` sub-attribute.
 */
export function valuesAt(resource: Record<string, unknown>, path: string): unknown[] {
  const [head, sub] = path.split(".", 2) as [string, string | undefined];
  const top = get(resource, head);
  const items = Array.isArray(top) ? top : top === undefined ? [] : [top];
  return items.flatMap((item) => {
    if (typeof item === "object" && item !== null) {
      const v = get(item as Record<string, unknown>, sub ?? "value");
      return v === undefined ? [] : [v];
    }
    return sub === undefined ? [item] : [];
  });
}

function compare(op: string, actual: unknown, expected: unknown, exact: boolean): boolean {
  if (typeof actual === "string" && typeof expected === "string") {
    const a = exact ? actual : actual.toLowerCase();
    const e = exact ? expected : expected.toLowerCase();
    if (op === "eq") return a === e;
    if (op === "ne") return a !== e;
    if (op === "co") return a.includes(e);
    if (op === "sw") return a.startsWith(e);
    if (op === "ew") return a.endsWith(e);
  }
  if (op === "eq") return actual === expected;
  if (op === "ne") return actual !== expected;
  return false;
}

/** Whether the resource matches; `filterable` limits which attributes may be used (else 400 invalidFilter). */
export function matches(resource: Record<string, unknown>, filter: Filter, filterable: Filterable): boolean {
  switch (filter.op) {
    case "and": return matches(resource, filter.left, filterable) && matches(resource, filter.right, filterable);
    case "or": return matches(resource, filter.left, filterable) || matches(resource, filter.right, filterable);
    case "not": return !matches(resource, filter.filter, filterable);
    default: {
      const path = filter.path.toLowerCase();
      if (!filterable.attributes.has(path)) throw invalid(`filtering on ${filter.path} is not supported`);
      const values = valuesAt(resource, filter.path);
      if (filter.op === "pr") return values.some((v) => v !== null && v !== "");
      const exact = filterable.caseExact.has(path);
      if (filter.op === "ne") return values.every((v) => compare("ne", v, filter.value, exact));
      return values.some((v) => compare(filter.op, v, filter.value, exact));
    }
  }
}
