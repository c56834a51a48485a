import SCIMMY from "scimmy";
import { type Fail, GROUPS, type ResourceMap, type Scalar, USERS } from "./attribute-map.js";

/**
 * sortBy and sortOrder (RFC 7644 §3.4.2.3) as the contents of an ORDER BY clause.
 * - Case-insensitive strings sort by lower(), case-exact ones as they are; both by code point
 *   ("Unicode alphabetic sort order with no specific locale implied"), so every server agrees.
 * - A multi-valued attribute sorts by its primary element, else its first one.
 * - Resources without a value come last when ascending and first when descending.
 * - Every order ends in `created_at, id`, unique within a connection, so pages never overlap.
 */

const invalidValue: Fail = (reason) => {
  throw new SCIMMY.Types.Error(400, "invalidValue", reason);
};

const TEXT_TYPES = ["string", "reference", "binary"];

/** The value a resource sorts by; empty strings count as no value. */
function sortKey(s: Scalar): string {
  if (!TEXT_TYPES.includes(s.type) || s.uuid) return s.sql;
  return `nullif(${s.caseExact ? s.sql : `lower(${s.sql})`}, '') collate "C"`;
}

function orderSql(map: ResourceMap, sortBy: string | undefined, sortOrder: "ascending" | "descending" | undefined): string {
  const tiebreak = `${map.alias}.created_at, ${map.alias}.id`;
  if (sortBy === undefined || !sortBy.trim()) return tiebreak;
  if (sortOrder !== undefined && sortOrder !== "ascending" && sortOrder !== "descending") {
    invalidValue(`sortOrder must be "ascending" or "descending", got ${JSON.stringify(sortOrder)}`);
  }
  const { target, sub } = map.resolve(sortBy.trim(), invalidValue);
  let key: string;
  if (target.kind === "scalar") key = sortKey(target);
  else if (target.kind === "complex") return invalidValue(`sortBy '${sortBy}' names a complex attribute: name one of its sub-attributes`);
  else if (!target.json) return invalidValue(`Cannot sort by '${sortBy}'`);
  else {
    const element = sub ?? target.element(undefined, invalidValue);
    key = `(select ${sortKey(element)} from jsonb_array_elements(${target.json}) with ordinality as o(e, n)
      order by coalesce(e -> 'primary' = 'true', false) desc, n limit 1)`;
  }
  return sortOrder === "descending" ? `${key} desc nulls first, ${tiebreak}` : `${key} asc nulls last, ${tiebreak}`;
}

/** ORDER BY contents for Users over alias `u`; throws 400 invalidValue for an unknown sortBy. */
export const userOrderSql = (sortBy: string | undefined, sortOrder: "ascending" | "descending" | undefined): string =>
  orderSql(USERS, sortBy, sortOrder);

/** ORDER BY contents for Groups over alias `g`; members cannot be sorted by. */
export const groupOrderSql = (sortBy: string | undefined, sortOrder: "ascending" | "descending" | undefined): string =>
  orderSql(GROUPS, sortBy, sortOrder);
