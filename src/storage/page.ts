import type { Db, Row } from "./db.js";

export interface PageQuery {
  /** Boolean SQL over the table's alias; `$1` is the connection id. */
  where: string;
  /** ORDER BY contents over the alias. */
  order: string;
  /** Parameter values, the first being the connection id. */
  values: unknown[];
  offset: number;
  limit: number;
}

/**
 * One page of `from` (e.g. "scim_users u") and the total that matched (RFC 7644 §3.4.2.4), both
 * from SQL. The total costs no second query when the first page is not full: it is the page.
 */
export async function pageWithTotal<T extends Row>(db: Db, from: string, columns: string, query: PageQuery): Promise<{ rows: T[]; total: number }> {
  const alias = from.trim().split(/\s+/).pop();
  const where = `${alias}.connection_id = $1 and (${query.where})`;
  const rows =
    query.limit > 0
      ? (
          await db.query<T>(
            `select ${columns} from ${from} where ${where} order by ${query.order} limit ${Math.trunc(query.limit)} offset ${Math.trunc(query.offset)}`,
            query.values,
          )
        ).rows
      : [];
  const total =
    query.offset === 0 && rows.length < query.limit
      ? rows.length
      : ((await db.query<{ n: number }>(`select count(*)::int as n from ${from} where ${where}`, query.values)).rows[0]?.n ?? 0);
  return { rows, total };
}
