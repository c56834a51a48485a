import SCIMMY from "scimmy";
import { declareSchemas } from "./declare.js";

/**
 * Where each SCIM attribute of a stored User or Group lives in SQL, for filters (RFC 7644 §3.4.2.2)
 * and sortBy (§3.4.2.3). The attributes IdPs filter on have their own indexed columns
 * (migrations/0001-initial.sql); members and a user's groups live in `scim_group_members`;
 * everything else is read from the `resource` jsonb. Names resolve against the SCIMMY schema
 * definitions case-insensitively, with or without their schema URN (RFC 7643 §2.1, §3.10).
 */
type Attribute = InstanceType<typeof SCIMMY.Types.Attribute>;
type Definition = InstanceType<typeof SCIMMY.Types.SchemaDefinition>;

/** Throws the caller's SCIM error (400 invalidFilter for filters, 400 invalidValue for sortBy). */
export type Fail = (reason: string) => never;

/** One value SQL can compare: a column, a typed read of `resource` jsonb, or a constant. */
export interface Scalar {
  readonly kind: "scalar";
  /** The path as the schema spells it ("emails.value"), for messages. */
  readonly name: string;
  readonly type: Attribute["type"];
  readonly caseExact: boolean;
  /** SQL of the value typed by `type` (text, boolean, numeric, timestamptz); null when absent. */
  readonly sql: string;
  /** A uuid column: only a valid uuid is ever cast to it (`id eq "x"` matches nothing). */
  readonly uuid?: boolean;
  /** A text[] column with this sub-attribute's lower-cased values over all elements (users.emails). */
  readonly allValues?: string;
}

/** A multi-valued attribute: a comparison matches when some element matches (RFC 7644 §3.4.2.2). */
export interface Elements {
  readonly kind: "elements";
  readonly name: string;
  /** FROM items yielding one row per element, and the condition tying them to the resource row. */
  readonly rows: string;
  readonly correlate?: string;
  /** The jsonb array when the elements live in `resource` (alias `e` in `rows`). */
  readonly json?: string;
  /** True when the attribute has at least one element (`pr`). */
  readonly present: string;
  /** A sub-attribute of one element; `undefined` names the element's value (`emails eq "x"`). */
  element(sub: string | undefined, fail: Fail): Scalar;
}

/** A singular complex attribute (name, meta, the enterprise manager). */
export interface Complex {
  readonly kind: "complex";
  readonly name: string;
  readonly present: string;
  element(sub: string, fail: Fail): Scalar;
}

export type Target = Scalar | Elements | Complex;

/** A resolved path: `sub` is set for `emails.value` (a sub-attribute of a multi-valued attribute). */
export interface Resolved {
  target: Target;
  sub?: Scalar;
}

export interface ResourceMap {
  /** The table alias the SQL is written over: "u" (scim_users) or "g" (scim_groups). */
  readonly alias: "u" | "g";
  resolve(path: string, fail: Fail): Resolved;
}

// Names come from the schema definitions, never from the client; this keeps them safe in literals.
const quotable = (name: string): string => {
  if (!/^[\w:.$-]+$/.test(name)) throw new Error(`Attribute name '${name}' cannot be quoted in SQL`);
  return name;
};
const jsonPath = (keys: string[]): string => `'{${keys.map(quotable).join(",")}}'`;
/** RFC 7644 §3.4.2.2 `pr`: present and not null, "", [] or {}. */
const nonEmpty = (json: string): string => `coalesce(${json} not in ('null', '""', '[]', '{}'), false)`;
// SCIMMY stores dateTimes as toISOString(); anything else reads as absent instead of failing a cast.
const ISO_UTC = String.raw`'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$'`;

const scalar = (name: string, attribute: Attribute, sql: string, extra: Partial<Scalar> = {}): Scalar => ({
  kind: "scalar", name, type: attribute.type, caseExact: attribute.config.caseExact === true, sql, ...extra,
});

/** A typed read of one jsonb value; `json` and `text` are the same value as jsonb and as text. */
function jsonScalar(name: string, attribute: Attribute, json: string, text: string): Scalar {
  const { type } = attribute;
  if (type === "boolean") return scalar(name, attribute, `(case jsonb_typeof(${json}) when 'boolean' then (${json})::boolean end)`);
  if (type === "decimal" || type === "integer") return scalar(name, attribute, `(case jsonb_typeof(${json}) when 'number' then (${json})::numeric end)`);
  if (type === "dateTime") return scalar(name, attribute, `(case when ${text} ~ ${ISO_UTC} then (${text})::timestamptz end)`);
  return scalar(name, attribute, text);
}

/** RFC 7643 §7: an attribute never returned (password) cannot be probed through filters either. */
function usable(attribute: Attribute, name: string, fail: Fail): Attribute {
  if (attribute.config.returned === false || attribute.config.returned === "never") fail(`Attribute '${name}' cannot be used in a filter or sortBy`);
  return attribute;
}

function subAttribute(parent: Attribute, parentName: string, sub: string | undefined, fail: Fail): Attribute {
  const name = sub ?? "value"; // RFC 7644 §3.4.2.2: a multi-valued attribute without sub-attribute compares `value`
  const found = parent.subAttributes?.find((a) => a.name.toLowerCase() === name.toLowerCase());
  if (!found && sub === undefined) fail(`Attribute '${parentName}' is complex: name one of its sub-attributes, e.g. '${parentName}.${parent.subAttributes?.[0]?.name}'`);
  if (!found) fail(`Attribute '${parentName}' has no sub-attribute '${sub}'`);
  return usable(found, `${parentName}.${found.name}`, fail);
}

/** An attribute read from `resource` at `keys` (["name"], or [extension URN, "manager"]). */
function jsonTarget(alias: string, attribute: Attribute, keys: string[], name: string): Target {
  const json = `${alias}.resource #> ${jsonPath(keys)}`;
  if (attribute.config.multiValued) {
    return {
      kind: "elements", name, json, rows: `jsonb_array_elements(${json}) e`, present: nonEmpty(json),
      element(sub: string | undefined, fail: Fail): Scalar {
        if (attribute.type !== "complex") {
          if (sub !== undefined) fail(`Attribute '${name}' is not complex, so it has no sub-attribute '${sub}'`);
          return jsonScalar(name, attribute, "e", "(e #>> '{}')");
        }
        const found = subAttribute(attribute, name, sub, fail);
        return jsonScalar(`${name}.${found.name}`, found, `(e -> '${quotable(found.name)}')`, `(e ->> '${quotable(found.name)}')`);
      },
    };
  }
  if (attribute.type === "complex") {
    return {
      kind: "complex", name, present: nonEmpty(json),
      element(sub: string | undefined, fail: Fail): Scalar {
        const found = subAttribute(attribute, name, sub, fail);
        const path = jsonPath([...keys, found.name]);
        return jsonScalar(`${name}.${found.name}`, found, `(${alias}.resource #> ${path})`, `(${alias}.resource #>> ${path})`);
      },
    };
  }
  return jsonScalar(name, attribute, `(${json})`, `(${alias}.resource #>> ${jsonPath(keys)})`);
}

/** meta (RFC 7643 §3.1) is not stored in `resource`: created and lastModified are columns. */
function meta(alias: string, resourceType: string, attribute: Attribute): Complex {
  const columns: Record<string, string> = { created: `${alias}.created_at`, lastModified: `${alias}.updated_at`, resourceType: `'${resourceType}'::text` };
  return {
    kind: "complex", name: "meta", present: "true",
    element(sub: string, fail: Fail): Scalar {
      const found = subAttribute(attribute, "meta", sub, fail);
      const sql = columns[found.name] ?? fail(`Attribute 'meta.${found.name}' cannot be used in a filter or sortBy`);
      return scalar(`meta.${found.name}`, found, sql);
    },
  };
}

/** A multi-valued attribute kept as rows of another table (Group members, a User's groups). */
function relation(name: string, attribute: Attribute, rows: string, correlate: string, columns: Record<string, Partial<Scalar> & { sql: string }>): Elements {
  return {
    kind: "elements", name, rows, correlate, present: `exists (select 1 from ${rows} where ${correlate})`,
    element(sub: string | undefined, fail: Fail): Scalar {
      const found = subAttribute(attribute, name, sub, fail);
      const column = columns[found.name] ?? fail(`Attribute '${name}.${found.name}' cannot be used in a filter or sortBy`);
      return scalar(`${name}.${found.name}`, found, column.sql, column);
    },
  };
}

type Override = (attribute: Attribute, fail: Fail) => Target;
const unstored: Override = (attribute, fail) => fail(`Attribute '${attribute.name}' cannot be used in a filter or sortBy`);

function resourceMap(alias: "u" | "g", definition: () => Definition, overrides: Record<string, Override>): ResourceMap {
  return {
    alias,
    resolve(path: string, fail: Fail): Resolved {
      const core = definition();
      const extensions = (core.attributes as unknown[]).filter((a): a is Definition => a instanceof SCIMMY.Types.SchemaDefinition);
      // RFC 7644 §3.10: "urn:…:core:2.0:User:userName", "urn:…:enterprise:2.0:User:employeeNumber".
      let schema: Definition | undefined = core;
      let rest = path;
      if (path.toLowerCase().startsWith("urn:")) {
        schema = [core, ...extensions].find((s) => path.toLowerCase().startsWith(`${s.id.toLowerCase()}:`));
        rest = schema ? path.slice(schema.id.length + 1) : "";
      }
      const [name = "", sub, ...deeper] = rest.split(".");
      const attribute = deeper.length === 0
        ? schema?.attributes.find((a) => a instanceof SCIMMY.Types.Attribute && a.name.toLowerCase() === name.toLowerCase()
          // An extension definition repeats schemas/id/externalId/meta ("shadow"); they belong to the resource.
          && (schema === core || !(a.config as { shadow?: boolean }).shadow))
        : undefined;
      if (!schema || !attribute) fail(`Unknown attribute '${path}'`);
      const label = schema === core ? attribute.name : `${schema.id}:${attribute.name}`;
      usable(attribute, label, fail);
      const override = schema === core ? overrides[attribute.name] : undefined;
      const target = override ? override(attribute, fail) : jsonTarget(alias, attribute, schema === core ? [attribute.name] : [schema.id, attribute.name], label);
      if (sub === undefined) return { target };
      if (target.kind === "scalar") fail(`Attribute '${label}' is not complex, so it has no sub-attribute '${sub}'`);
      if (target.kind === "complex") return { target: target.element(sub, fail) };
      return { target, sub: target.element(sub, fail) };
    },
  };
}

const column = (sql: string, extra: Partial<Scalar> = {}): Override => (attribute) => scalar(attribute.name, attribute, sql, extra);

/** Users (alias `u`): the columns the users repository keeps in step with `resource`. */
export const USERS: ResourceMap = resourceMap("u", () => declareSchemas().Schemas.User.definition as Definition, {
  schemas: unstored,
  id: column("u.id", { uuid: true }),
  externalId: column("u.external_id"),
  userName: column("u.user_name"),
  displayName: column("u.display_name"),
  active: column("u.active"),
  meta: (attribute) => meta("u", "User", attribute),
  emails(attribute) {
    const elements = jsonTarget("u", attribute, ["emails"], "emails") as Elements;
    return {
      ...elements,
      element(sub: string | undefined, fail: Fail): Scalar {
        const found = elements.element(sub, fail);
        return found.name === "emails.value" ? { ...found, allValues: "u.emails" } : found;
      },
    };
  },
  groups: (attribute) =>
    relation("groups", attribute,
      "scim_group_members gm join scim_groups gg on gg.connection_id = gm.connection_id and gg.id = gm.group_id",
      "gm.connection_id = u.connection_id and gm.member_id = u.id",
      { value: { sql: "gm.group_id", uuid: true }, display: { sql: "gg.display_name" } }),
});

/** Groups (alias `g`): members are rows of scim_group_members, not part of `resource`. */
export const GROUPS: ResourceMap = resourceMap("g", () => declareSchemas().Schemas.Group.definition as Definition, {
  schemas: unstored,
  id: column("g.id", { uuid: true }),
  externalId: column("g.external_id"),
  displayName: column("g.display_name"),
  meta: (attribute) => meta("g", "Group", attribute),
  members: (attribute) =>
    relation("members", attribute, "scim_group_members m", "m.connection_id = g.connection_id and m.group_id = g.id",
      { value: { sql: "m.member_id", uuid: true }, type: { sql: "m.member_type" }, display: { sql: "m.display" } }),
});
