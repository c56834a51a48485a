import type { Task } from "../storage/tasks-repo.js";

/** A task's timeline for support staff: built from what its row records (steps, probes, errors, decisions). */
export interface TimelineEntry {
  at: string;
  kind: "queued" | "account" | "step" | "error" | "escalated" | "resolved" | "verified" | "cancelled" | "probe";
  summary: string;
}

/** A task's life as recorded on its row, oldest first: queued, account, each step, the last error, escalation, resolution, the last probe. */
export function timelineOf(t: Task): TimelineEntry[] {
  const entries: TimelineEntry[] = [{ at: t.createdAt.toISOString(), kind: "queued", summary: `queued (${t.intent.kind}${t.intent.kind === "revoke-entitlement" ? ` ${t.intent.entitlement}` : ""})` }];
  if (t.account) entries.push({ at: t.account.at, kind: "account", summary: t.account.found ? `account ${t.account.account.id} found` : t.account.evidence });
  for (const s of t.steps) {
    const quality = s.outcome === "planned" ? "planned (dry-run)" : `${s.outcome}${s.acknowledged ? ", acknowledged" : ""}`;
    entries.push({ at: s.at, kind: "step", summary: `${s.name}: ${quality}` });
  }
  if (t.lastError && t.lastErrorAt) entries.push({ at: t.lastErrorAt.toISOString(), kind: "error", summary: `${t.lastErrorKind ?? "error"}: ${t.lastError}` });
  if (t.escalatedAt) entries.push({ at: t.escalatedAt.toISOString(), kind: "escalated", summary: `escalated${t.reason ? `: ${t.reason}` : ""}` });
  if (t.evidence) entries.push({ at: t.evidence.at, kind: "probe", summary: `probe ${t.probes}: ${t.evidence.revoked ? "revoked" : "access remains"} — ${t.evidence.evidence}` });
  if (t.resolution) entries.push({ at: t.resolution.at, kind: "resolved", summary: `resolved by ${t.resolution.by}: ${t.resolution.note}` });
  if (t.verifiedAt) entries.push({ at: t.verifiedAt.toISOString(), kind: "verified", summary: "verified" });
  if (t.state === "cancelled") entries.push({ at: t.updatedAt.toISOString(), kind: "cancelled", summary: `cancelled${t.reason ? `: ${t.reason}` : ""}` });
  return entries.sort((a, b) => a.at.localeCompare(b.at));
}
