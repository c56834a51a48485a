import type { TargetPolicy } from "../storage/targets-repo.js";

/**
 * Reads a target policy from untrusted JSON (admin API, CLI): every field optional, every bad one
 * named with what to send instead. Returns the fields given, or the problems.
 */
/** A group named by its SCIM id or its displayName (the admin route resolves names to ids). */
const isGroupRef = (g: unknown): g is string => typeof g === "string" && g.trim() !== "" && g.length <= 256;

export function parsePolicy(input: unknown): { policy: Partial<TargetPolicy>; problems: string[] } {
  const problems: string[] = [];
  const policy: Partial<TargetPolicy> = {};
  if (input === undefined || input === null) return { policy, problems };
  if (typeof input !== "object" || Array.isArray(input)) return { policy, problems: ["policy must be an object"] };
  const p = input as Record<string, unknown>;
  const known = new Set(["deactivate", "slaMs", "scopeGroups", "entitlements", "mode", "maxConcurrency", "maxRequestsPerSec"]);
  for (const key of Object.keys(p)) if (!known.has(key)) problems.push(`policy.${key} is unknown; known fields: ${[...known].join(", ")}`);

  if (p.deactivate !== undefined) {
    if (p.deactivate === "disable" || p.deactivate === "delete") policy.deactivate = p.deactivate;
    else problems.push('policy.deactivate must be "disable" or "delete"');
  }
  if (p.slaMs !== undefined) {
    if (Number.isSafeInteger(p.slaMs) && (p.slaMs as number) >= 1_000 && (p.slaMs as number) <= 7 * 86_400_000) policy.slaMs = p.slaMs as number;
    else problems.push("policy.slaMs must be whole milliseconds from 1000 to 604800000 (7 days)");
  }
  if (p.scopeGroups !== undefined) {
    if (p.scopeGroups === null) policy.scopeGroups = null;
    else if (Array.isArray(p.scopeGroups) && p.scopeGroups.length > 0 && p.scopeGroups.every(isGroupRef)) policy.scopeGroups = p.scopeGroups as string[];
    else problems.push("policy.scopeGroups must be null (every user) or a non-empty list of SCIM group ids or group displayNames");
  }
  if (p.entitlements !== undefined) {
    const e = p.entitlements;
    if (e !== null && typeof e === "object" && !Array.isArray(e) && Object.entries(e).every(([k, v]) => isGroupRef(k) && typeof v === "string" && v.trim() !== "")) {
      policy.entitlements = e as Record<string, string>;
    } else problems.push('policy.entitlements must map IdP groups (SCIM id or displayName) to target-side entitlement names, e.g. {"Engineering": "team-a"}');
  }
  if (p.mode !== undefined) {
    if (p.mode === "live" || p.mode === "dry-run") policy.mode = p.mode;
    else problems.push('policy.mode must be "live" or "dry-run"');
  }
  if (p.maxConcurrency !== undefined) {
    if (Number.isSafeInteger(p.maxConcurrency) && (p.maxConcurrency as number) >= 1 && (p.maxConcurrency as number) <= 256) policy.maxConcurrency = p.maxConcurrency as number;
    else problems.push("policy.maxConcurrency must be a whole number from 1 to 256");
  }
  if (p.maxRequestsPerSec !== undefined) {
    if (p.maxRequestsPerSec === null) policy.maxRequestsPerSec = null;
    else if (typeof p.maxRequestsPerSec === "number" && p.maxRequestsPerSec > 0 && p.maxRequestsPerSec <= 100_000) policy.maxRequestsPerSec = p.maxRequestsPerSec;
    else problems.push("policy.maxRequestsPerSec must be null (unlimited) or a number above 0");
  }
  return { policy, problems };
}
