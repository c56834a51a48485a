import type { ConfigField, Connector } from "../connector-kit.js";
import { isSealed, SecretBoxError, type SecretBox } from "../secret-box.js";
import type { Db } from "../storage/db.js";
import { listTargets, setTargetConfig } from "../storage/targets-repo.js";

/**
 * A target's connector config through its life: checked against the kind's declared fields when
 * registered, its secret fields sealed before they are stored, masked in every view, and opened
 * only where a connector runs.
 */

const typeOf = (value: unknown): ConfigField["type"] | "null" | "array" =>
  value === null ? "null" : Array.isArray(value) ? (value.every((v) => typeof v === "string") ? "string[]" : "array") : (typeof value as ConfigField["type"]);

/** Every problem of a config for a kind, each with its fix; empty when it can be registered. */
export function checkTargetConfig(connector: Connector, config: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const fields = new Map(connector.configFields.map((f) => [f.name, f]));
  for (const key of Object.keys(config)) {
    if (!fields.has(key)) problems.push(`config.${key} is not a field of kind ${connector.id}; its fields: ${[...fields.keys()].join(", ") || "none"}`);
  }
  for (const field of connector.configFields) {
    const value = config[field.name];
    if (value === undefined || value === null) {
      if (field.required) problems.push(`config.${field.name} is required: ${field.description}`);
      continue;
    }
    if (isSealed(value)) continue; // already sealed (an update that keeps the stored secret)
    const want = field.type ?? "string";
    if (typeOf(value) !== want || (want === "string" && (value as string).trim() === "")) {
      problems.push(`config.${field.name} must be ${want === "string[]" ? "a list of strings" : want === "object" ? "an object" : `a non-empty ${want}`}: ${field.description}`);
    }
  }
  if (problems.length === 0 && connector.checkConfig) {
    try {
      problems.push(...connector.checkConfig(config));
    } catch (error) {
      problems.push(`kind ${connector.id} could not check this config: ${(error as Error).message}`);
    }
  }
  return problems;
}

const secretNames = (connector: Connector | undefined) => new Set((connector?.configFields ?? []).filter((f) => f.secret).map((f) => f.name));

/** The config to store: each field the kind marks secret sealed (values already sealed stay as they are). */
export function sealTargetConfig(connector: Connector, config: Record<string, unknown>, box: SecretBox): Record<string, unknown> {
  const secret = secretNames(connector);
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, secret.has(k) && v !== undefined && v !== null && !isSealed(v) ? box.seal(k, v) : v]));
}

/**
 * The config as shown by the API and CLI: sealed values, and fields the kind marks secret (stored
 * before sealing existed, or by a test harness), as "[secret]".
 */
export function maskTargetConfig(connector: Connector | undefined, config: Record<string, unknown>): Record<string, unknown> {
  const secret = secretNames(connector);
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, isSealed(v) || secret.has(k) ? "[secret]" : v]));
}

/** The config a connector runs with: every sealed value opened. Throws SecretBoxError naming the field. */
export function openTargetConfig(config: Record<string, unknown>, box: SecretBox): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, isSealed(v) ? box.open(k, v) : v]));
}

/** The config with every value sealed by an older key sealed again with the primary one; null when none was. */
export function resealTargetConfig(config: Record<string, unknown>, box: SecretBox): Record<string, unknown> | null {
  let changed = false;
  const next = Object.fromEntries(
    Object.entries(config).map(([k, v]) => {
      if (!isSealed(v) || box.keyIdOf(v) === box.primaryKeyId) return [k, v];
      changed = true;
      return [k, box.seal(k, box.open(k, v))];
    }),
  );
  return changed ? next : null;
}

/**
 * Key rotation at start: every target whose secrets an older SECRETS_KEY key sealed is sealed
 * again with the newest. A target none of the keys opens is reported, not changed.
 */
export async function resealTargets(db: Db, box: SecretBox): Promise<{ resealed: number; failures: { targetId: string; name: string; problem: string }[] }> {
  let resealed = 0;
  const failures: { targetId: string; name: string; problem: string }[] = [];
  for (const target of await listTargets(db)) {
    try {
      const next = resealTargetConfig(target.config, box);
      if (next && (await setTargetConfig(db, target.id, next, target.config))) resealed++;
    } catch (error) {
      if (!(error instanceof SecretBoxError)) throw error;
      failures.push({ targetId: target.id, name: target.name, problem: error.message });
    }
  }
  return { resealed, failures };
}
