import type SCIMMYType from "scimmy";
import { isObject } from "./canonical-json.js";
import { attributeAt, type SchemaAttribute } from "./dialect.js";

/**
 * The PATCH an IdP sends on every deprovisioning — `replace active false`, Okta's no-path
 * `{"active": false}`, Entra's `replace` of `displayName` or `name.givenName` — sets singular
 * text or boolean attributes and nothing else. SCIMMY applies any PatchOp correctly, but it does so
 * by building five copies of the whole resource as schema instances: on the bridge's busiest
 * route that was about half of the main thread's work per request.
 *
 * `simplePatch` recognises the operations whose effect is a plain assignment, and only those:
 * `add` or `replace` of a singular, optional, read-write `string` or `boolean` attribute with no
 * canonical values (core, a core sub-attribute, or an extension URN path), with a value of
 * exactly that type. It answers a function from the stored attributes to the patched ones, or
 * `undefined` for every other body, which SCIMMY then applies as before. Bodies arrive here after
 * the dialect normalisation (router.ts): ops lower-cased, Entra's "False" already false.
 * test/scim/simple-patch.test.ts checks that both paths store the same resource.
 */
type Definition = InstanceType<typeof SCIMMYType.Types.SchemaDefinition>;

/** Where an assignment lands: `[extension URN]?`, attribute, `sub-attribute?`, in stored (canonical) names. */
interface Assignment {
  keys: string[];
  value: string | boolean;
}

export type SimplePatch = (resource: Record<string, unknown>) => Record<string, unknown>;

const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/** Singular, optional, read-write string or boolean, any value allowed: an assignment is all it takes. */
function assignable(attribute: SchemaAttribute | undefined): attribute is SchemaAttribute & { name: string; type: string } {
  if (!attribute?.name || (attribute.type !== "string" && attribute.type !== "boolean")) return false;
  const { multiValued, required, mutable, direction, canonicalValues, shadow } = attribute.config ?? {};
  return !multiValued && !required && mutable === true && (direction ?? "both") === "both" && !Array.isArray(canonicalValues) && !shadow;
}

/** The schema a URN names: undefined for the core schema itself (its attributes are top-level). */
function extensionOf(definition: Definition, urn: string): { id: string } | undefined | false {
  const named = attributeAt(definition, urn);
  if (!named || named.type !== undefined || typeof named.id !== "string") return false;
  return named.id === (definition as unknown as { id: string }).id ? undefined : { id: named.id };
}

/** The stored keys for `path` and its attribute, or undefined when the path is not a plain attribute or sub-attribute. */
function keysFor(definition: Definition, path: string): { keys: string[]; leaf: SchemaAttribute & { type: string } } | undefined {
  if (/[[\]"\s]/.test(path)) return undefined; // value filters and anything odd: SCIMMY's business
  const urn = /^(urn:.+):([^:]+)$/i.exec(path);
  const extension = urn ? extensionOf(definition, urn[1]!) : undefined;
  if (extension === false) return undefined;
  const local = urn ? urn[2]! : path;
  const parts = local.split(".");
  // Extension sub-attributes (`urn:…:User:manager.value`) are left to SCIMMY, which refuses them today.
  if (parts.length > (urn ? 1 : 2) || parts.some((part) => !/^[A-Za-z][\w$-]*$/.test(part))) return undefined;
  const leaf = attributeAt(definition, path);
  if (!assignable(leaf)) return undefined;
  const keys: string[] = [];
  if (extension) keys.push(extension.id);
  if (parts.length === 2) {
    const parent = attributeAt(definition, urn ? `${urn[1]}:${parts[0]}` : parts[0]!);
    if (!parent?.name || parent.type !== "complex" || parent.config?.multiValued || parent.config?.mutable !== true) return undefined;
    keys.push(parent.name);
  }
  keys.push(leaf.name);
  // Names exactly as the schema spells them, core attributes without the core URN, as the dialect
  // normalisation (dialect.ts canonicalPath) leaves them: anything else goes to SCIMMY, whose
  // PatchOp refuses "DisplayName" and "urn:…:core:2.0:User:title", so both answer alike.
  if (extension === undefined && urn) return undefined;
  if (keys.slice(extension ? 1 : 0).join(".") !== local || (extension && urn![1] !== extension.id)) return undefined;
  return { keys, leaf };
}

function assignmentFor(definition: Definition, path: string, value: unknown): Assignment | undefined {
  const found = keysFor(definition, path);
  if (!found || typeof value !== found.leaf.type) return undefined;
  return { keys: found.keys, value: value as string | boolean };
}


/** The assignments a PatchOp body amounts to, or undefined when any part of it is more than that. */
function assignments(definition: Definition, body: unknown): Assignment[] | undefined {
  if (!isObject(body) || !Array.isArray(body.schemas) || body.schemas.length !== 1 || body.schemas[0] !== PATCH_OP) return undefined;
  if (!Array.isArray(body.Operations) || body.Operations.length === 0 || Object.keys(body).some((k) => k !== "schemas" && k !== "Operations")) return undefined;
  const out: Assignment[] = [];
  for (const operation of body.Operations as unknown[]) {
    if (!isObject(operation) || (operation.op !== "replace" && operation.op !== "add")) return undefined;
    if (Object.keys(operation).some((k) => !["op", "path", "value"].includes(k))) return undefined;
    if (typeof operation.path === "string" && operation.path !== "") {
      const one = assignmentFor(definition, operation.path, operation.value);
      if (!one) return undefined;
      out.push(one);
    } else if (operation.path === undefined && isObject(operation.value)) {
      // Okta's and Entra's no-path form: each key a path (Entra) or an attribute (Okta).
      const entries = Object.entries(operation.value);
      if (entries.length === 0 || entries.some(([key]) => /^urn:/i.test(key) && extensionOf(definition, key) !== false)) return undefined;
      for (const [key, value] of entries) {
        const one = assignmentFor(definition, key, value);
        if (!one) return undefined;
        out.push(one);
      }
    } else {
      return undefined;
    }
  }
  return out;
}

/** A copy of `resource` with `assignment` made, creating the complex or extension object it needs. */
function assign(resource: Record<string, unknown>, { keys, value }: Assignment): Record<string, unknown> {
  const [first, ...rest] = keys as [string, ...string[]];
  if (rest.length === 0) return { ...resource, [first]: value };
  const inner = isObject(resource[first]) ? (resource[first] as Record<string, unknown>) : {};
  return { ...resource, [first]: assign(inner, { keys: rest, value }) };
}

/** The patch as a plain function of the stored attributes, or undefined when SCIMMY must apply it. */
export function simplePatch(definition: Definition, body: unknown): SimplePatch | undefined {
  const list = assignments(definition, body);
  if (!list) return undefined;
  return (resource) => list.reduce(assign, resource);
}
