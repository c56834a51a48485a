const CORE = { User: "urn:ietf:params:scim:schemas:core:2.0:User", Group: "urn:ietf:params:scim:schemas:core:2.0:Group" } as const;

/**
 * RFC 7643 §3: every representation carries `schemas`; SCIMMY leaves it out of the JSON when
 * `attributes` narrows the answer, so it is put back (the core schema, and any extension present).
 */
export function withSchemas(shaped: unknown, kind: "User" | "Group"): unknown {
  const plain = JSON.parse(JSON.stringify(shaped)) as Record<string, unknown>;
  if (Array.isArray(plain.schemas)) return plain;
  const extensions = Object.keys(plain).filter((k) => k.startsWith("urn:"));
  return { schemas: [CORE[kind], ...extensions], ...plain };
}
