/** How the console writes states, times and durations: text first, colour only as a second cue. */
import { h } from "./dom.js";

/** What each state means to support staff, for the badge's tooltip and screen readers. */
const STATE_HELP = {
  queued: "waiting for a worker",
  revoking: "revoke steps running",
  verifying: "steps done; probing until access is observed gone",
  verified: "a probe observed the access gone",
  escalated: "needs a person: the deadline passed or the target refused",
  cancelled: "nothing more will be done",
  held: "held by the mass-deprovisioning guard until an operator decides",
  rejected: "an operator rejected it: nothing was done",
  released: "approved; running",
  "no-targets": "no target was in scope",
  resolved: "escalated, then closed by a person's recorded resolution",
};

/** The badge class of a state: its tone, one of a handful. */
function toneOf(state) {
  if (state === "verified") return "ok";
  if (state === "escalated") return "bad";
  if (state === "held") return "held";
  if (state === "queued" || state === "revoking" || state === "verifying" || state === "released") return "busy";
  return "neutral";
}

/**
 * A state badge: the state as text (never colour alone), its meaning as a title.
 * @param {string | null | undefined} state
 * @param {string} [label] what to show instead of the state itself
 */
export function badge(state, label) {
  const s = state ?? "none";
  return h("span", { class: `badge tone-${toneOf(s)}`, title: STATE_HELP[s] ?? "", dataset: { state: s } }, label ?? s);
}

/** A badge that is not a task state: `tone` is ok, bad, busy, held or neutral. */
export const tag = (tone, text, title) => h("span", { class: `badge tone-${tone}`, title }, text);

/** A task's shown state: an escalation closed by a person reads "resolved". */
export const taskBadge = (task) =>
  task.state === "escalated" && task.resolution ? badge("resolved", "escalated · resolved") : badge(task.state);

const pad = (n) => String(n).padStart(2, "0");

/** `2026-12-03 14:05:12Z`, the CLI's form. */
export function utc(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}Z`;
}

/** `3m 20s`, `2h 5m`, `4d 1h`. */
export function duration(ms) {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m}m ${s % 60}s` : `${m}m`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return m % 60 ? `${hours}h ${m % 60}m` : `${hours}h`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/** `5m ago`, `in 2m`, `just now`. */
export function relative(iso, now = Date.now()) {
  const delta = new Date(iso).getTime() - now;
  if (Math.abs(delta) < 5_000) return "just now";
  return delta < 0 ? `${duration(delta)} ago` : `in ${duration(delta)}`;
}

/** A `<time>`: relative text, the exact UTC instant as its title and datetime. */
export function when(iso) {
  if (!iso) return h("span", { class: "muted" }, "—");
  return h("time", { datetime: new Date(iso).toISOString(), title: utc(iso) }, relative(iso));
}

/** A `<time>` with the UTC instant first and the relative time after it. */
export function at(iso) {
  if (!iso) return h("span", { class: "muted" }, "—");
  return h("time", { datetime: new Date(iso).toISOString() }, `${utc(iso)} (${relative(iso)})`);
}

/** A share as a percentage with one decimal: `12.5%`. */
export const percent = (share) => (typeof share === "number" ? `${Math.round(share * 1000) / 10}%` : "—");

/** `1 operation`, `3 operations`. */
export const count = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
