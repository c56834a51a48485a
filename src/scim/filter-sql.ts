import SCIMMY from "scimmy";
import { isUuid } from "../storage/uuid.js";
import { type Elements, type Fail, GROUPS, type ResourceMap, type Resolved, type Scalar, USERS } from "./attribute-map.js";

export { groupOrderSql, userOrderSql } from "./sort-sql.js";

/**
 * SCIM filters (RFC 7644 §3.4.2.2) as parametrised SQL over the indexed columns of
 * migrations/0001-initial.sql, falling back to the `resource` jsonb (see attribute-map.ts).
 *
 * SCIMMY's `Filter` checks the syntax first, as it does for every list request, but the SQL is
 * built from our own syntax tree: SCIMMY's disjunctive normal form silently changes the meaning
 * of valid filters (measured on 1.3.5), e.g.
 * - `not (a eq 1 or b eq 2)` becomes `a ne 1 or b ne 2` (no De Morgan), and `not (emails[…])` drops the `not`;
 * - `(a eq 1 or b eq 2) and (c eq 3)` and `(a eq 1 or b eq 2) and not (c eq 3)` drop the last term;
 * - `emails.type eq "work" and emails.value co "x"` (or `emails[…] and emails[…]`) must match one element;
 * - `active eq TRUE` compares with false; `"a\\b"` keeps both backslashes.
 */

/** Collects bind values; `add` returns the placeholder (`$n`) to write into the SQL. */
export class SqlParams {
  constructor(readonly values: unknown[] = []) {}
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

type Value = string | number | boolean | null;
const OPERATORS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr"] as const;
type Operator = (typeof OPERATORS)[number];
type Node =
  | { kind: "and" | "or"; nodes: Node[] }
  | { kind: "not"; node: Node }
  | { kind: "compare"; path: string; op: Operator; value: Value }
  | { kind: "valuePath"; path: string; filter: Node };

/** Limits that keep a hostile filter from exhausting the stack or PostgreSQL's 65535 parameters. */
const MAX_DEPTH = 32;
const MAX_COMPARISONS = 500;

const invalidFilter: Fail = (reason) => {
  throw new SCIMMY.Types.Error(400, "invalidFilter", reason);
};

// Strings (JSON, with escapes), brackets, and words (paths, operators, true/false/null, numbers).
const TOKEN = /\s+|"(?:[^"\\]|\\.)*"|[()[\]]|[^\s()[\]"]+/y;
const PATH = /^(?:urn:[\w.:-]+:)?[a-z$][\w$-]*(?:\.[a-z$][\w$-]*)?$/i;
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?$/;

function tokenise(filter: string): string[] {
  const tokens: string[] = [];
  for (let at = 0; at < filter.length; at = TOKEN.lastIndex) {
    TOKEN.lastIndex = at;
    const token = TOKEN.exec(filter)?.[0] ?? invalidFilter(`Unterminated string starting at position ${at + 1}`);
    if (token.trim()) tokens.push(token);
  }
  return tokens;
}

/** Recursive descent over RFC 7644 §3.4.2.2's ABNF: or < and < not/( )/valuePath/attrExp. */
class Parser {
  private at = 0;
  private comparisons = 0;
  constructor(private readonly tokens: string[]) {}

  parse(): Node {
    const node = this.or(0, false);
    if (this.at < this.tokens.length) invalidFilter(`Unexpected '${this.tokens[this.at]}' in filter`);
    return node;
  }

  private peek = (): string | undefined => this.tokens[this.at];
  private isWord = (word: string): boolean => this.peek()?.toLowerCase() === word;
  private next(expected: string): string {
    return this.tokens[this.at++] ?? invalidFilter(`Filter ends where ${expected} was expected`);
  }
  private expect(token: string): void {
    const found = this.next(`'${token}'`);
    if (found !== token) invalidFilter(`Expected '${token}' but found '${found}'`);
  }

  private or(depth: number, inValuePath: boolean): Node {
    const nodes = [this.and(depth, inValuePath)];
    while (this.isWord("or")) nodes.push((this.at++, this.and(depth, inValuePath)));
    return nodes.length === 1 ? nodes[0]! : { kind: "or", nodes };
  }

  private and(depth: number, inValuePath: boolean): Node {
    const nodes = [this.unary(depth, inValuePath)];
    while (this.isWord("and")) nodes.push((this.at++, this.unary(depth, inValuePath)));
    return nodes.length === 1 ? nodes[0]! : { kind: "and", nodes };
  }

  private unary(depth: number, inValuePath: boolean): Node {
    if (depth > MAX_DEPTH) invalidFilter(`Filter nests deeper than ${MAX_DEPTH} levels`);
    const negated = this.isWord("not");
    if (negated) this.at++;
    if (negated || this.peek() === "(") {
      this.expect("(");
      const node = this.or(depth + 1, inValuePath);
      this.expect(")");
      return negated ? { kind: "not", node } : node;
    }
    const path = this.next("an attribute path");
    if (!PATH.test(path)) invalidFilter(`Expected an attribute path but found '${path}'`);
    if (this.peek() !== "[") return this.comparison(path);
    if (inValuePath) invalidFilter(`Value filters cannot be nested ('${path}[')`);
    this.at++;
    const filter = this.or(depth + 1, true);
    this.expect("]");
    // SCIMMY also accepts `emails[type eq "work"].value co "x"` (the PATCH path form): same element.
    const sub = this.peek();
    if (sub?.startsWith(".")) {
      this.at++;
      return { kind: "valuePath", path, filter: { kind: "and", nodes: [filter, this.comparison(sub.slice(1))] } };
    }
    return { kind: "valuePath", path, filter };
  }

  private comparison(path: string): Node {
    if (++this.comparisons > MAX_COMPARISONS) invalidFilter(`Filter has more than ${MAX_COMPARISONS} comparisons`);
    const op = this.next(`an operator after '${path}'`).toLowerCase() as Operator;
    if (!OPERATORS.includes(op)) invalidFilter(`Unknown operator '${op}' after '${path}'`);
    if (op === "pr") return { kind: "compare", path, op, value: null };
    const raw = this.next(`a value after '${path} ${op}'`);
    const value = literal(raw);
    if (value === undefined) invalidFilter(`Expected a value after '${path} ${op}' but found '${raw}'`);
    return { kind: "compare", path, op, value };
  }
}

/** compValue = false / null / true / number / string (JSON, RFC 7644 §3.4.2.2); undefined otherwise. */
function literal(raw: string): Value | undefined {
  if (raw.startsWith('"')) {
    try {
      return JSON.parse(raw) as string;
    } catch {
      return invalidFilter(`Invalid string value ${raw}`);
    }
  }
  const word = raw.toLowerCase();
  if (word === "true" || word === "false") return word === "true";
  if (word === "null") return null;
  return NUMBER.test(raw) ? Number(raw) : undefined;
}

const ISO_DATE_TIME = /^(\d{4})-(\d\d)-(\d\d)(?:T(\d\d):(\d\d):(\d\d)(\.\d{1,6})?(Z|[+-](\d\d):(\d\d))?)?$/i;

/** An xsd:dateTime (RFC 7643 §2.3.5) PostgreSQL will parse; no offset means UTC, no time midnight. */
function dateTime(name: string, value: Value): string {
  const m = typeof value === "string" ? ISO_DATE_TIME.exec(value) : null;
  const [year, month, day, hour = 0, minute = 0, second = 0, , , offsetHour = 0, offsetMinute = 0] = (m?.slice(1) ?? []).map((v) => (v === undefined || !/^\d+$/.test(v) ? undefined : Number(v)));
  const valid = m && year && month && day && month <= 12 && day <= new Date(Date.UTC(year, month, 0)).getUTCDate()
    && hour <= 23 && minute <= 59 && second <= 59 && offsetHour <= 14 && offsetMinute <= 59;
  if (!valid) invalidFilter(`Attribute '${name}' is a dateTime: expected an ISO 8601 value such as "2024-01-31T12:00:00Z", got ${JSON.stringify(value)}`);
  const text = String(value).toUpperCase();
  return m[4] === undefined ? `${text}T00:00:00Z` : m[8] === undefined ? `${text}Z` : text;
}

const SQL_OPERATOR: Record<string, string> = { eq: "=", ne: "is distinct from", gt: ">", ge: ">=", lt: "<", le: "<=" };
const likePattern = (op: Operator, value: string): string => {
  const escaped = value.replace(/[\\%_]/g, "\\$&");
  return op === "sw" ? `${escaped}%` : op === "ew" ? `%${escaped}` : `%${escaped}%`;
};

/** Present and not empty (RFC 7644 §3.4.2.2 `pr`). */
const present = (s: Scalar): string =>
  ["string", "reference", "binary"].includes(s.type) && !s.uuid ? `coalesce(${s.sql}, '') <> ''` : `${s.sql} is not null`;

/** One comparison on one value (RFC 7644 §3.4.2.2, Table 3), typed by the attribute. */
function compareScalar(s: Scalar, op: Operator, value: Value, params: SqlParams): string {
  if (op === "pr") return present(s);
  const wrongOperator = (): never => invalidFilter(`Operator '${op}' is not valid for ${s.type} attribute '${s.name}'`);
  switch (s.type) {
    case "boolean": {
      if (op !== "eq" && op !== "ne") wrongOperator();
      // Entra ID sends "True"/"False" strings for booleans, as SCIMMY's own matcher accepts.
      const bool = typeof value === "string" && /^(true|false)$/i.test(value) ? value.toLowerCase() === "true" : value;
      if (typeof bool !== "boolean") invalidFilter(`Attribute '${s.name}' is a boolean: expected true or false, got ${JSON.stringify(value)}`);
      return `${s.sql} ${SQL_OPERATOR[op]} ${params.add(bool)}::boolean`;
    }
    case "decimal":
    case "integer":
      if (["co", "sw", "ew"].includes(op)) wrongOperator();
      if (typeof value !== "number") invalidFilter(`Attribute '${s.name}' is a number: expected a number, got ${JSON.stringify(value)}`);
      return `${s.sql} ${SQL_OPERATOR[op]} ${params.add(value)}::numeric`;
    case "dateTime":
      if (["co", "sw", "ew"].includes(op)) wrongOperator();
      return `${s.sql} ${SQL_OPERATOR[op]} ${params.add(dateTime(s.name, value))}::timestamptz`;
    default: {
      if (typeof value !== "string") invalidFilter(`Attribute '${s.name}' is a string: expected a quoted value, got ${JSON.stringify(value)}`);
      if (s.uuid && op === "eq") return isUuid(value) ? `${s.sql} = ${params.add(value)}::uuid` : "false";
      if (s.uuid && op === "ne") return isUuid(value) ? `${s.sql} is distinct from ${params.add(value)}::uuid` : "true";
      const text = s.uuid ? `${s.sql}::text` : s.sql;
      if (op === "co" || op === "sw" || op === "ew") {
        return s.caseExact ? `${text} like ${params.add(likePattern(op, value))}` : `lower(${text}) like ${params.add(likePattern(op, value.toLowerCase()))}`;
      }
      const [left, right] = s.caseExact ? [text, params.add(value)] : [`lower(${text})`, `lower(${params.add(value)})`];
      // Ordering is by code point (RFC 7644 §3.4.2.2: lexicographical), the same on every server.
      return `${left} ${SQL_OPERATOR[op]} ${right}${["eq", "ne"].includes(op) ? "" : ' collate "C"'}`;
    }
  }
}

/** Some element of a multi-valued attribute satisfies `condition`. */
function someElement(elements: Elements, condition: string): string {
  if (condition === "false") return "false";
  return `exists (select 1 from ${elements.rows} where ${elements.correlate ? `${elements.correlate} and ` : ""}(${condition}))`;
}

function compare({ target, sub }: Resolved, op: Operator, value: Value, params: SqlParams): string {
  if (target.kind === "scalar") return compareScalar(target, op, value, params);
  if (op === "pr" && !sub) return target.present;
  if (target.kind === "complex") return invalidFilter(`Attribute '${target.name}' is complex: compare one of its sub-attributes, or use pr`);
  const element = sub ?? target.element(undefined, invalidFilter);
  if (!element.allValues) return someElement(target, compareScalar(element, op, value, params));
  // users.emails holds every emails[].value lower-cased; `@>` is answered by its GIN index.
  if (op === "eq" && typeof value === "string") return `${element.allValues} @> array[lower(${params.add(value)})]::text[]`;
  if (op === "pr") return `cardinality(${element.allValues}) > 0`;
  return `exists (select 1 from unnest(${element.allValues}) v where ${compareScalar({ ...element, sql: "v" }, op, value, params)})`;
}

type Scope = (path: string) => Resolved;

function toSql(node: Node, scope: Scope, params: SqlParams): string {
  switch (node.kind) {
    case "and":
    case "or":
      return `(${node.nodes.map((n) => toSql(n, scope, params)).join(` ${node.kind} `)})`;
    case "not":
      // Comparisons on absent values are NULL in SQL; SCIM's `not` must still match them.
      return `((${toSql(node.node, scope, params)}) is not true)`;
    case "compare": {
      const resolved = scope(node.path);
      if (node.value !== null || node.op === "pr") return compare(resolved, node.op, node.value, params);
      // `eq null` is "not present" and `ne null` is "present"; no other operator takes null.
      if (node.op !== "eq" && node.op !== "ne") invalidFilter(`Operator '${node.op}' cannot compare with null`);
      const isPresent = compare(resolved, "pr", null, params);
      return node.op === "ne" ? isPresent : `((${isPresent}) is not true)`;
    }
    case "valuePath": {
      const { target, sub } = scope(node.path);
      if (target.kind === "scalar" || sub) invalidFilter(`'${node.path}[…]' needs a complex attribute`);
      const inner = (path: string): Resolved => ({ target: target.element(path, invalidFilter) });
      const condition = toSql(node.filter, inner, params);
      return target.kind === "complex" ? condition : someElement(target, condition);
    }
  }
}

function filterSql(map: ResourceMap, filter: string, params: SqlParams): string {
  if (!filter.trim()) invalidFilter("Filter is empty");
  const tree = new Parser(tokenise(filter)).parse();
  try {
    new SCIMMY.Types.Filter(filter); // what every list request is held to (SCIMMY parses `filter` first)
  } catch (error) {
    invalidFilter(error instanceof Error ? error.message : String(error));
  }
  return toSql(tree, (path) => map.resolve(path, invalidFilter), params);
}

/**
 * A filter on Users (RFC 7644 §3.4.2.2) as a boolean SQL expression over alias `u`, with every
 * value bound through `params`. Throws SCIM 400 `invalidFilter` for bad syntax, unknown
 * attributes, and operators or values the attribute's type does not allow.
 */
export const userFilterSql = (filter: string, params: SqlParams): string => filterSql(USERS, filter, params);

/** A filter on Groups, as `userFilterSql` but over alias `g`; `members` reads scim_group_members. */
export const groupFilterSql = (filter: string, params: SqlParams): string => filterSql(GROUPS, filter, params);
