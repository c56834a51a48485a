import type SCIMMYType from "scimmy";
import { declareSchemas, ENTERPRISE_USER } from "./declare.js";
import { isObject } from "./canonical-json.js";

/**
 * IdP dialects, normalised before SCIMMY sees a body (scimmy-facts.md §7: SCIMMY refuses them).
 * - Entra ID (default, without `aadOptscim062020`) sends booleans as "True"/"False" strings,
 *   capitalised ops ("Replace"), the enterprise `manager` as a bare id string, and no-path
 *   replaces whose value keys are paths ("name.givenName", "urn:…:User:manager").
 * - Okta and Entra with `aadOptscim062020` send RFC 7644 forms, which pass through unchanged.
 * Everything here is schema-driven: a string is turned into a boolean only where the schema says
 * the attribute is a boolean, so a displayName of "True" stays a string.
 */
type Definition = InstanceType<typeof SCIMMYType.Types.SchemaDefinition>;
type Json = unknown;


/** What SCIMMY's `definition.attribute(path)` answers: an attribute, or for a schema URN the schema itself (`id`, no `type`). */
export interface SchemaAttribute {
  id?: string;
  type?: string;
  name?: string;
  subAttributes?: unknown[];
  config?: { multiValued?: boolean; required?: boolean; mutable?: boolean | string; direction?: string; canonicalValues?: unknown; shadow?: boolean };
}

/** The attribute a path names (filters stripped), or undefined when the schema has none (SCIMMY throws). */
export function attributeAt(definition: Definition, path: string): SchemaAttribute | undefined {
  const plain = path.replace(/\[[^\]]*\]/g, "");
  try {
    return definition.attribute(plain) as never;
  } catch {
    return undefined;
  }
}

function stringBoolean(value: unknown): unknown {
  if (typeof value !== "string") return value;
  const lower = value.trim().toLowerCase();
  return lower === "true" ? true : lower === "false" ? false : value;
}

/** Rewrites one attribute value found at `path`, recursing through complex and multi-valued values. */
function normaliseValue(definition: Definition, path: string, value: Json): Json {
  const attribute = attributeAt(definition, path);
  if (!attribute) return value;
  if (attribute.type === "boolean") return Array.isArray(value) ? value.map(stringBoolean) : stringBoolean(value);
  // Entra: {"path": "urn:…:User:manager", "value": "<id>"} — manager is complex with a `value`.
  if (path.toLowerCase() === `${ENTERPRISE_USER}:manager`.toLowerCase() && typeof value === "string") return { value };
  if (attribute.type === "complex") {
    const each = (v: Json): Json => (isObject(v) ? normaliseObject(definition, path, v) : v);
    return Array.isArray(value) ? value.map(each) : each(value);
  }
  return value;
}

function normaliseObject(definition: Definition, prefix: string, value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === null) continue; // RFC 7643 §2.5: null is unassigned
    const path = prefix ? `${prefix}.${key}` : key;
    out[key] = normaliseValue(definition, path, v);
  }
  return out;
}

/** A POST/PUT body: every attribute, including URN-keyed extension objects and URN-prefixed keys. */
export function normaliseResourceBody(definition: Definition, body: Json): Json {
  if (!isObject(body)) return body;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    // RFC 7643 §2.5: null is unassigned; Entra sends "phoneNumbers": null, SCIMMY refuses it.
    if (value === null) continue;
    if (key.toLowerCase().startsWith("urn:") && isObject(value) && !attributeAt(definition, key)?.type) {
      // An extension object: its attributes are addressed as "urn:…:User:attr".
      out[key] = Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, normaliseValue(definition, `${key}:${k}`, v)]));
    } else {
      out[key] = normaliseValue(definition, key, value);
    }
  }
  return out;
}

/** The schema's own spelling of the last name in `path` (a full attribute path), or `name` as given. */
function canonicalName(definition: Definition, path: string, name: string): string {
  const attribute = attributeAt(definition, path);
  return attribute?.name && attribute.name.toLowerCase() === name.toLowerCase() ? attribute.name : name;
}

/**
 * A PATCH path in the schema's own spelling. RFC 7643 §2.1 makes attribute names case-insensitive
 * and RFC 7644 §3.10 lets a path carry its schema's URN, core included; SCIMMY's PatchOp matches
 * neither ("DisplayName" and "urn:…:core:2.0:User:title" answer 400 invalidPath). The core URN is
 * dropped, an extension's URN and every attribute name take the schema's case; a value filter's
 * text is left as sent (SCIMMY's filters compare names case-insensitively). A path this cannot
 * read is returned unchanged, for SCIMMY to refuse with its own message.
 */
export function canonicalPath(definition: Definition, path: string): string {
  const core = (definition as unknown as { id: string }).id;
  const extensions = ((definition as unknown as { attributes: { id?: unknown; type?: unknown }[] }).attributes ?? [])
    .filter((a) => typeof a.id === "string" && a.type === undefined)
    .map((a) => a.id as string);
  let rest = path;
  let urn = "";
  for (const schema of [core, ...extensions]) {
    if (rest.length > schema.length && rest.slice(0, schema.length + 1).toLowerCase() === `${schema}:`.toLowerCase()) {
      urn = schema === core ? "" : schema;
      rest = rest.slice(schema.length + 1);
      break;
    }
  }
  const match = /^([A-Za-z][\w$-]*)(\[[^\]]*\])?(?:\.([A-Za-z][\w$-]*))?$/.exec(rest);
  if (!match) return path;
  const [, attribute, filter = "", sub] = match as unknown as [string, string, string | undefined, string | undefined];
  const name = canonicalName(definition, urn ? `${urn}:${attribute}` : attribute, attribute);
  const parent = urn ? `${urn}:${name}` : name;
  const leaf = sub === undefined ? "" : `.${canonicalName(definition, `${parent}.${sub}`, sub)}`;
  return `${urn ? `${urn}:` : ""}${name}${filter}${leaf}`;
}

/** A PatchOp body (RFC 7644 §3.5.2): ops lower-cased, paths in the schema's spelling, values normalised per their path. */
export function normalisePatchBody(definition: Definition, body: Json): Json {
  if (!isObject(body) || !Array.isArray(body.Operations)) return body;
  const operations = body.Operations.map((operation: unknown) => {
    if (!isObject(operation)) return operation;
    const op = typeof operation.op === "string" ? operation.op.toLowerCase() : operation.op;
    const path = typeof operation.path === "string" ? canonicalPath(definition, operation.path.trim()) : operation.path;
    let value = operation.value;
    if (typeof path === "string" && path !== "") value = normaliseValue(definition, path, value);
    else if (isObject(value)) value = normaliseResourceBody(definition, value);
    return { ...operation, op, ...(path === undefined ? {} : { path }), ...(value === undefined ? {} : { value }) };
  });
  return { ...body, Operations: operations };
}

/**
 * Attribute names in a POST/PUT body that no schema of this resource type defines. SCIMMY drops
 * them silently; we answer 400 so an IdP admin learns that a mapping sends something we cannot keep.
 */
export function unknownAttributes(definition: Definition, body: Json): string[] {
  if (!isObject(body)) return [];
  const unknown: string[] = [];
  const check = (path: string, value: unknown): void => {
    if (value === null) return;
    const attribute = attributeAt(definition, path);
    if (!attribute) {
      unknown.push(path);
      return;
    }
    const subs = attribute.subAttributes;
    if (attribute.type === "complex" && Array.isArray(subs) && subs.length > 0) {
      for (const item of Array.isArray(value) ? value : [value]) {
        if (isObject(item)) for (const k of Object.keys(item)) check(`${path}.${k}`, item[k]);
      }
    }
  };
  for (const [key, value] of Object.entries(body)) {
    if (["schemas", "id", "meta"].includes(key.toLowerCase())) continue;
    // RFC 7643 §2.5: null is unassigned. Entra's published example sends "department": null at the top level.
    if (value === null) continue;
    if (key.toLowerCase().startsWith("urn:") && isObject(value) && !attributeAt(definition, key)?.type) {
      if (!attributeAt(definition, key)) {
        unknown.push(key);
        continue;
      }
      for (const [k, v] of Object.entries(value)) check(`${key}:${k}`, v);
      continue;
    }
    check(key, value);
  }
  return unknown;
}

export const userDefinition = (): Definition => declareSchemas().Schemas.User.definition as Definition;
export const groupDefinition = (): Definition => declareSchemas().Schemas.Group.definition as Definition;
