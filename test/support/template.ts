import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MIGRATIONS_DIR } from "../../src/paths.js";

/** A name that changes whenever a migration changes, so a stale template is never reused. */
export function templateKey(): string {
  const hash = createHash("sha256");
  for (const file of readdirSync(MIGRATIONS_DIR).sort()) hash.update(file).update(readFileSync(join(MIGRATIONS_DIR, file)));
  return hash.digest("hex").slice(0, 12);
}

export const pgliteTemplatePath = (): string => join(tmpdir(), `scim-bridge-template-${templateKey()}.tar`);
export const pgTemplateDatabase = (): string => `scim_bridge_template_${templateKey()}`;

/** The same server as DATABASE_URL, another database on it. */
export function databaseUrlFor(base: string, database: string): string {
  const url = new URL(base);
  url.pathname = "/" + database;
  return url.toString();
}
