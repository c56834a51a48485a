/**
 * Targets with their health (`GET /targets`): mode, whether enabled, the last success, the error
 * rate over 24 h, a pause (Retry-After or the circuit breaker) and failures in a row.
 */
import { h, liveView, rerender } from "../lib/dom.js";
import { percent, tag, when } from "../lib/format.js";

/** A word for the target's health, so the table never relies on colour. */
export function healthOf(target, now = Date.now()) {
  const health = target.health ?? {};
  const pausedUntil = health.pausedUntil ?? target.pausedUntil;
  if (!target.enabled) return { word: "disabled", tone: "neutral", title: "new operations do not reach it" };
  if (pausedUntil && new Date(pausedUntil).getTime() > now) return { word: "paused", tone: "bad", title: "the engine waits (Retry-After or the circuit breaker)" };
  const failures = health.consecutiveFailures ?? target.consecutiveFailures ?? 0;
  if (failures > 0 || (health.errorRate24h ?? 0) >= 0.5) return { word: "failing", tone: "bad", title: "its last calls failed" };
  if ((health.errorRate24h ?? 0) > 0) return { word: "degraded", tone: "busy", title: "some calls failed in the last 24 h" };
  return { word: "healthy", tone: "ok", title: "no failure in the last 24 h" };
}

const COLUMNS = ["Target", "Connection", "Kind", "Mode", "Health", "Open work", "Last success", "Errors (24 h)", "Paused until", "Failures in a row"];

/** `2 running · 1 escalated`, from the health's open counts. */
function openWork(health) {
  const parts = [];
  if (health.openTasks) parts.push(`${health.openTasks} running`);
  if (health.openEscalations) parts.push(`${health.openEscalations} escalated`);
  return parts.length > 0 ? parts.join(" · ") : h("span", { class: "muted" }, "none");
}

function row(target, connectionName) {
  const health = target.health ?? {};
  const { word, tone, title } = healthOf(target);
  const pausedUntil = health.pausedUntil ?? target.pausedUntil;
  return h("tr", { dataset: { target: target.name, health: word } },
    h("th", { scope: "row" }, target.name),
    h("td", null, connectionName),
    h("td", null, target.kind),
    h("td", null, target.policy?.mode ?? "live"),
    h("td", null, tag(tone, word, title), target.pauseReason ? h("div", { class: "muted" }, target.pauseReason) : null),
    h("td", null, openWork(health)),
    h("td", null, when(health.lastSuccessAt)),
    h("td", null, percent(health.errorRate24h)),
    h("td", null, pausedUntil && new Date(pausedUntil).getTime() > Date.now() ? when(pausedUntil) : h("span", { class: "muted" }, "—")),
    h("td", { class: "number" }, String(health.consecutiveFailures ?? target.consecutiveFailures ?? 0)));
}

/** @param {HTMLElement} container */
export function mountTargets(container, ctx) {
  const body = h("div", null, h("p", { class: "muted" }, "Loading…"));
  container.replaceChildren(h("h1", { tabindex: "-1" }, "Targets"), body);
  document.title = "Targets · scim-bridge console";

  const load = async (live) => {
    try {
      const [{ targets }, connections] = await Promise.all([
        ctx.api.get("/targets"),
        // app owners may not list connections: their targets show the connection id
        ctx.can.read ? ctx.api.get("/connections").then((r) => r.connections) : Promise.resolve([]),
      ]);
      if (live.disposed) return;
      const nameOf = new Map(connections.map((c) => [c.id, c.name]));
      rerender(body, () => targets.length === 0
        ? h("p", { class: "empty" }, "No target is registered.")
        : h("table", { class: "grid" },
          h("caption", null, `${targets.length} target${targets.length === 1 ? "" : "s"} and their health`),
          h("thead", null, h("tr", null, COLUMNS.map((c) => h("th", { scope: "col" }, c)))),
          h("tbody", null, targets.map((t) => row(t, nameOf.get(t.connectionId) ?? t.connectionId)))));
    } catch (error) {
      if (!live.disposed) ctx.fail(error);
    }
  };
  // health moves with every task: at most one re-fetch every 2 s
  return liveView(load, 2_000);
}
