/**
 * Templates in a definition's requests: `{{root.path}}` placeholders in otherwise literal text.
 *
 *   {{subject.userName}}  {{subject.emails.0}}  {{subject.externalId}}  {{subject.displayName}}
 *   {{subject.enterprise.employeeNumber}}  {{subject.enterprise.manager.value}}
 *   {{subject.extensions["urn:ietf:params:scim:schemas:extension:acme:2.0:User"].costCenter}}
 *   {{account.id}}  {{account.data.<captured name>}}  {{intent.kind}}  {{intent.entitlement}}
 *   {{vars.<name>}}  {{secrets.<name>}}  {{now}} (the engine's clock, ISO 8601)
 *
 * After the root, `.name` reads a member (`.0` an array element), `["any name"]` a member whose
 * name has dots or colons (a schema URN), `[n]` an element. A value that is missing or null is an
 * error naming the template — never an empty string. Where the value goes decides its encoding
 * (see `renderText` and `renderValue`); values are never spliced into JSON text.
 */
import { isObject, readQuoted } from "./json-path.js";
import { member, type Problems } from "./problems.js";

export const TEMPLATE_ROOTS = ["subject", "account", "intent", "vars", "secrets", "now"] as const;
export type TemplateRoot = (typeof TEMPLATE_ROOTS)[number];

export type TemplateSegment = { key: string } | { index: number };

export interface TemplateExpr {
  /** `subject.emails.0`, as written between the braces (trimmed). */
  readonly source: string;
  readonly root: TemplateRoot;
  readonly segments: readonly TemplateSegment[];
}

export type TemplatePart = { text: string } | { expr: TemplateExpr };

export interface Template {
  readonly source: string;
  readonly parts: readonly TemplatePart[];
}

/** What templates are filled from. Absent roots (no account during find) read as missing. */
export interface TemplateScope {
  subject?: unknown;
  account?: unknown;
  intent?: unknown;
  vars: Record<string, unknown>;
  secrets: Record<string, unknown>;
  now?: string;
}

export class TemplateError extends Error {}

const NAME = /^[A-Za-z_$][A-Za-z0-9_$-]*|^\d+/;

/** Parses literal text with `{{…}}` placeholders; throws TemplateError saying what is wrong. */
export function parseTemplate(source: string): Template {
  const parts: TemplatePart[] = [];
  let rest = source;
  while (rest.length > 0) {
    const open = rest.indexOf("{{");
    const strayClose = rest.indexOf("}}");
    if (strayClose >= 0 && (open < 0 || strayClose < open)) throw new TemplateError(`"}}" without "{{" in ${JSON.stringify(source)}`);
    if (open < 0) {
      parts.push({ text: rest });
      break;
    }
    if (open > 0) parts.push({ text: rest.slice(0, open) });
    const close = closingBraces(rest, open + 2);
    if (close < 0) throw new TemplateError(`"{{" is not closed by "}}" in ${JSON.stringify(source)}`);
    parts.push({ expr: parseExpr(rest.slice(open + 2, close).trim()) });
    rest = rest.slice(close + 2);
  }
  return { source, parts };
}

/** The index of the `}}` closing a placeholder that starts at `from`, skipping quoted names. */
function closingBraces(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] === '"' || text[i] === "'") {
      const quoted = readQuoted(text.slice(i));
      if (!quoted) return -1;
      i += quoted.length - 1;
    } else if (text.startsWith("}}", i)) {
      return i;
    }
  }
  return -1;
}

function parseExpr(source: string): TemplateExpr {
  const root = /^[A-Za-z]+/.exec(source)?.[0];
  if (!root || !(TEMPLATE_ROOTS as readonly string[]).includes(root)) {
    throw new TemplateError(`{{${source}}} must start with one of ${TEMPLATE_ROOTS.join(", ")}`);
  }
  const segments: TemplateSegment[] = [];
  let at = root.length;
  while (at < source.length) {
    const char = source[at];
    if (char === ".") {
      const name = NAME.exec(source.slice(at + 1))?.[0];
      if (!name) throw new TemplateError(`{{${source}}}: expected a name after "." at position ${at + 1} (use ["…"] for names with dots or colons)`);
      segments.push(/^\d+$/.test(name) ? { index: Number(name) } : { key: name });
      at += 1 + name.length;
    } else if (char === "[") {
      const rest = source.slice(at + 1);
      const index = /^(\d+)\]/.exec(rest);
      if (index) {
        segments.push({ index: Number(index[1]) });
        at += 1 + index[0].length;
        continue;
      }
      const quoted = readQuoted(rest);
      if (!quoted || rest[quoted.length] !== "]") throw new TemplateError(`{{${source}}}: expected [n] or ["name"] at position ${at}`);
      segments.push({ key: quoted.value });
      at += 1 + quoted.length + 1;
    } else {
      throw new TemplateError(`{{${source}}}: unexpected ${JSON.stringify(char)} at position ${at}`);
    }
  }
  if (root === "now" && segments.length > 0) throw new TemplateError(`{{${source}}}: now has no members`);
  return { source, root: root as TemplateRoot, segments };
}

/** The expressions a template uses. */
export const exprsOf = (template: Template): TemplateExpr[] =>
  template.parts.flatMap((part) => ("expr" in part ? [part.expr] : []));

/** Whether the whole template is one placeholder (its value then keeps its JSON type in a body). */
export function wholeExpr(template: Template): TemplateExpr | null {
  const only = template.parts.length === 1 ? template.parts[0] : undefined;
  return only && "expr" in only ? only.expr : null;
}

/** An expression's value, or TemplateError when it is missing or null. */
export function resolve(expr: TemplateExpr, scope: TemplateScope): unknown {
  let value: unknown = scope[expr.root];
  for (const segment of expr.segments) {
    if ("index" in segment && Array.isArray(value)) value = value[segment.index];
    else if (isObject(value)) {
      const key = "key" in segment ? segment.key : String(segment.index);
      value = Object.hasOwn(value, key) ? value[key] : undefined;
    } else value = undefined;
    if (value === undefined) break;
  }
  if (value === undefined || value === null) throw new TemplateError(`{{${expr.source}}} has no value here`);
  return value;
}

export interface TextOptions {
  /** Applied to each placeholder's value (e.g. percent-encoding for a URL path). */
  encode?: (value: string) => string;
  /** Whether a placeholder may be the empty string (Default: false; a path or query value never may). */
  allowEmpty?: boolean;
}

/** The template as text: each value must be a string, number or boolean. */
export function renderText(template: Template, scope: TemplateScope, options: TextOptions = {}): string {
  let out = "";
  for (const part of template.parts) {
    if ("text" in part) {
      out += part.text;
      continue;
    }
    const value = resolve(part.expr, scope);
    if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
      throw new TemplateError(`{{${part.expr.source}}} is ${Array.isArray(value) ? "a list" : "an object"}, not text (pick one element or member)`);
    }
    const text = String(value);
    if (text === "" && !options.allowEmpty) throw new TemplateError(`{{${part.expr.source}}} is empty`);
    out += options.encode ? options.encode(text) : text;
  }
  return out;
}

/**
 * The template as a JSON value: a template that is exactly one placeholder gives the value itself
 * (a number stays a number, a list a list); anything else gives text.
 */
export function renderValue(template: Template, scope: TemplateScope): unknown {
  const expr = wholeExpr(template);
  return expr ? resolve(expr, scope) : renderText(template, scope, { allowEmpty: true });
}

/** Where a template is used, for the definition's static checks (which roots and names it may use). */
export interface TemplateUse {
  at: string;
  template: Template;
  where: "path" | "query" | "header" | "body" | "condition";
}

/** Parses a template found at `at`, recording the problem or the use. */
export function parseTemplateAt(source: unknown, at: string, where: TemplateUse["where"], problems: Problems, uses: TemplateUse[]): Template | null {
  if (typeof source !== "string") {
    problems.add(at, `must be a string, got ${JSON.stringify(source)}`);
    return null;
  }
  try {
    const template = parseTemplate(source);
    uses.push({ at, template, where });
    return template;
  } catch (error) {
    if (!(error instanceof TemplateError)) throw error;
    problems.add(at, `has a bad template: ${error.message}`);
    return null;
  }
}

/** A JSON value whose strings are templates (a request body, a condition's expected value). */
export type JsonTemplate =
  | { literal: unknown }
  | { template: Template }
  | { items: JsonTemplate[] }
  | { entries: [string, JsonTemplate][] };

export function parseJsonTemplate(value: unknown, at: string, where: TemplateUse["where"], problems: Problems, uses: TemplateUse[]): JsonTemplate {
  if (typeof value === "string") {
    const template = parseTemplateAt(value, at, where, problems, uses);
    return template && template.parts.some((part) => "expr" in part) ? { template } : { literal: value };
  }
  if (Array.isArray(value)) return { items: value.map((item, i) => parseJsonTemplate(item, `${at}[${i}]`, where, problems, uses)) };
  if (isObject(value)) return { entries: Object.entries(value).map(([key, v]) => [key, parseJsonTemplate(v, member(at, key), where, problems, uses)]) };
  if (value === undefined || typeof value === "function" || typeof value === "symbol" || typeof value === "bigint") {
    problems.add(at, "must be a JSON value");
  }
  return { literal: value };
}

/** The JSON value with each template rendered by `renderValue` (keys are never templated). */
export function renderJson(json: JsonTemplate, scope: TemplateScope): unknown {
  if ("literal" in json) return json.literal;
  if ("template" in json) return renderValue(json.template, scope);
  if ("items" in json) return json.items.map((item) => renderJson(item, scope));
  return Object.fromEntries(json.entries.map(([key, value]) => [key, renderJson(value, scope)]));
}
