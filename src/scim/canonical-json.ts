/** A JSON object (not an array, not null). */
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** JSON with object keys sorted: jsonb reorders keys, so equality of stored resources compares this. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

/** A SCIMMY schema instance as plain JSON, without what the server owns (id, meta, schemas). */
export function storable(instance: unknown, drop: readonly string[] = []): Record<string, unknown> {
  const plain = JSON.parse(JSON.stringify(instance)) as Record<string, unknown>;
  for (const key of ["id", "meta", "schemas", "password", ...drop]) delete plain[key];
  return plain;
}
