/**
 * PATCH for the independent SCIM peer, written from RFC 7644 §3.5.2: `add`, `replace`, `remove`
 * (op names case-insensitive), with and without `path`; paths `attr`, `attr.sub`,
 * `attr[filter]`, `attr[filter].sub`, optionally prefixed by an extension schema URN. Applied to a
 * copy; the caller keeps it only when every operation succeeded (§3.5.2: all or nothing).
 */
import { ScimProblem } from "./scim-errors.js";
import { matches, parseFilter, type Filter, type Filterable } from "./scim-filter.js";

export const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

type Json = Record<string, unknown>;

/** What PATCH needs to know about a resource type's schema. */
export interface PatchSchema {
  /** Lower-cased names of multi-valued attributes (emails, members, …). */
  multiValued: ReadonlySet<string>;
  /** Lower-cased names clients cannot write (id, meta, groups): 400 mutability. */
  readOnly: ReadonlySet<string>;
  /** For `attr[filter]`: sub-attributes of multi-valued values are filterable. */
  valueFilterable: Filterable;
}

export interface PatchPath {
  /** An extension schema URN the attribute lives under, e.g. the enterprise User extension. */
  urn?: string;
  attribute: string;
  filter?: Filter;
  sub?: string;
}

const badPath = (detail: string) => new ScimProblem(400, detail, "invalidPath");

/** `urn:…:User:manager.value` → {urn, attribute: manager, sub: value}; `members[value eq "x"]` → {attribute: members, filter}. */
export function parsePath(path: string): PatchPath {
  let rest = path.trim();
  let urn: string | undefined;
  if (/^urn:/i.test(rest)) {
    const bracket = rest.indexOf("[");
    const head = bracket === -1 ? rest : rest.slice(0, bracket);
    const colon = head.lastIndexOf(":");
    urn = head.slice(0, colon);
    rest = rest.slice(colon + 1);
  }
  const m = /^([A-Za-z$][\w$-]*)(?:\[(.*)\])?(?:\.([A-Za-z$][\w$-]*))?$/.exec(rest);
  if (!m) throw badPath(`path ${JSON.stringify(path)} is not an attribute path`);
  const [, attribute, filter, sub] = m;
  let parsed: Filter | undefined;
  if (filter !== undefined) {
    try {
      parsed = parseFilter(filter);
    } catch (error) {
      if (error instanceof ScimProblem) throw badPath(`the filter in path ${JSON.stringify(path)} is invalid: ${error.detail}`);
      throw error;
    }
  }
  return { ...(urn ? { urn } : {}), attribute: attribute!, ...(parsed ? { filter: parsed } : {}), ...(sub ? { sub } : {}) };
}

const keyOf = (object: Json, name: string): string => Object.keys(object).find((k) => k.toLowerCase() === name.toLowerCase()) ?? name;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The object an attribute lives in: the resource, or its extension object (created for add/replace). */
function container(resource: Json, path: PatchPath, create: boolean): Json | undefined {
  if (!path.urn) return resource;
  const key = keyOf(resource, path.urn);
  if (!isObject(resource[key])) {
    if (!create) return undefined;
    resource[key] = {};
  }
  return resource[key] as Json;
}

function addValue(target: Json, name: string, value: unknown, schema: PatchSchema): void {
  const key = keyOf(target, name);
  if (schema.multiValued.has(name.toLowerCase())) {
    const existing = Array.isArray(target[key]) ? (target[key] as unknown[]) : [];
    const added = (Array.isArray(value) ? value : [value]).filter((v) => !existing.some((e) => same(e, v)));
    target[key] = [...existing, ...added];
  } else if (isObject(value) && isObject(target[key])) {
    target[key] = { ...(target[key] as Json), ...value };
  } else {
    target[key] = value;
  }
}

function replaceValue(target: Json, name: string, value: unknown, schema: PatchSchema): void {
  const key = keyOf(target, name);
  if (!schema.multiValued.has(name.toLowerCase()) && isObject(value) && isObject(target[key])) target[key] = { ...(target[key] as Json), ...value };
  else target[key] = schema.multiValued.has(name.toLowerCase()) && !Array.isArray(value) ? [value] : value;
}

/** Top-level attributes of a path-less value: extension URNs name objects of their own. */
function eachAttribute(value: unknown, fn: (path: PatchPath, v: unknown) => void): void {
  if (!isObject(value)) throw new ScimProblem(400, "an operation without a path needs an object value", "invalidValue");
  for (const [name, v] of Object.entries(value)) {
    if (/^urn:/i.test(name) && isObject(v)) for (const [sub, sv] of Object.entries(v)) fn({ urn: name, attribute: sub }, sv);
    else fn({ attribute: name }, v);
  }
}

function applyOne(resource: Json, op: string, path: PatchPath, value: unknown, schema: PatchSchema): void {
  if (!path.urn && schema.readOnly.has(path.attribute.toLowerCase())) throw new ScimProblem(400, `${path.attribute} is read-only`, "mutability");
  const target = container(resource, path, op !== "remove");
  if (!target) return;
  const key = keyOf(target, path.attribute);

  if (path.filter) {
    if (!schema.multiValued.has(path.attribute.toLowerCase())) throw badPath(`${path.attribute} is not multi-valued; a value filter needs a multi-valued attribute`);
    const items = Array.isArray(target[key]) ? (target[key] as unknown[]) : [];
    const hit = (item: unknown) => isObject(item) && matches(item, path.filter!, schema.valueFilterable);
    if (op === "remove") {
      if (path.sub) for (const item of items.filter(hit)) delete (item as Json)[keyOf(item as Json, path.sub)];
      else target[key] = items.filter((item) => !hit(item));
      if (Array.isArray(target[key]) && (target[key] as unknown[]).length === 0) delete target[key];
      return;
    }
    if (op === "add") throw badPath("add does not take a value filter; add to the attribute itself");
    const matched = items.filter(hit);
    // RFC 7644 §3.5.2.3: a value filter that matches nothing is 400 noTarget.
    if (matched.length === 0) throw new ScimProblem(400, `no value of ${path.attribute} matches the filter`, "noTarget");
    target[key] = items.map((item) => (!hit(item) ? item : path.sub ? { ...(item as Json), [keyOf(item as Json, path.sub)]: value } : value));
    return;
  }

  if (path.sub) {
    if (schema.multiValued.has(path.attribute.toLowerCase())) throw badPath(`${path.attribute} is multi-valued: select values with a filter, ${path.attribute}[…].${path.sub}`);
    if (op === "remove") {
      if (isObject(target[key])) delete (target[key] as Json)[keyOf(target[key] as Json, path.sub)];
      return;
    }
    const inner = isObject(target[key]) ? (target[key] as Json) : {};
    inner[keyOf(inner, path.sub)] = value;
    target[key] = inner;
    return;
  }

  // RFC 7644 §3.5.2.2: remove without a filter removes the attribute and every value, even when a "value" is sent.
  if (op === "remove") delete target[key];
  else if (op === "add") addValue(target, path.attribute, value, schema);
  else replaceValue(target, path.attribute, value, schema);
}

/** Applies a PatchOp body to a copy of `resource` and returns the copy; errors are ScimProblems. */
export function applyPatch(resource: Json, body: unknown, schema: PatchSchema): Json {
  if (!isObject(body) || !Array.isArray(body.schemas) || !body.schemas.includes(PATCH_OP)) throw new ScimProblem(400, `a PATCH body needs schemas: ["${PATCH_OP}"]`, "invalidSyntax");
  const operations = body.Operations;
  if (!Array.isArray(operations) || operations.length === 0) throw new ScimProblem(400, "a PATCH body needs a non-empty Operations list", "invalidSyntax");
  const copy = structuredClone(resource);
  for (const operation of operations) {
    if (!isObject(operation) || typeof operation.op !== "string") throw new ScimProblem(400, "every operation needs an op", "invalidSyntax");
    const op = operation.op.toLowerCase();
    if (!["add", "replace", "remove"].includes(op)) throw new ScimProblem(400, `op ${JSON.stringify(operation.op)} is not add, replace or remove`, "invalidSyntax");
    const path = operation.path;
    if (path !== undefined && typeof path !== "string") throw badPath("path must be a string");
    if (op !== "remove" && !("value" in operation)) throw new ScimProblem(400, `${op} needs a value`, "invalidValue");
    if (path === undefined || path === "") {
      if (op === "remove") throw new ScimProblem(400, "remove needs a path", "noTarget");
      eachAttribute(operation.value, (p, v) => applyOne(copy, op, p, v, schema));
    } else {
      applyOne(copy, op, parsePath(path), operation.value, schema);
    }
  }
  return copy;
}
