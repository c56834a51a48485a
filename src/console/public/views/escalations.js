/**
 * The escalations queue (`GET /escalations`): open escalations, oldest first, each with its
 * person, target, last error and, for operators, a note to resolve it with.
 */
import { h, liveView, rerender } from "../lib/dom.js";
import { at, count, when } from "../lib/format.js";
import { resolveForm } from "./resolve-form.js";
import { personHref } from "./search.js";

/** Most escalations drawn at once; the rest are counted (a queue that long needs a filter, not a scroll). */
export const SHOWN_MAX = 200;

/**
 * One queue entry as `{task, operation, connection, subject}`: the API answers flat entries
 * (`taskId`, `target`, `lastError`, `escalatedAt` beside `operation`); an older draft nested a TaskView.
 */
export function entryOf(e) {
  if (e.task) return e;
  const task = { id: e.taskId, target: e.target, lastError: e.lastError ?? null, reason: e.reason ?? null, escalatedAt: e.escalatedAt ?? null, nextAttemptAt: e.nextAttemptAt ?? null };
  return { task, operation: e.operation, connection: e.connection, subject: e.subject };
}

function item(ctx, entry, refresh) {
  const { task, operation, connection, subject } = entry;
  const headingId = `esc-${task.id}`;
  return h("li", { class: "card", "aria-labelledby": headingId, dataset: { task: task.id, target: task.target.name } },
    h("h2", { id: headingId, class: "card-title" },
      h("a", { href: personHref(connection, subject.userName) }, subject.userName), ` · ${task.target.name}`),
    h("dl", { class: "facts" },
      h("dt", null, "Connection"), h("dd", null, connection),
      h("dt", null, "Operation"), h("dd", null, `${operation.kind}, created `, at(operation.createdAt)),
      h("dt", null, "Target"), h("dd", null, `${task.target.name} (${task.target.kind})`),
      h("dt", null, "Last error"), h("dd", { class: "error-text" }, task.lastError
        ? [h("span", { class: "error-kind" }, task.lastError.kind ?? "error"), " · ", when(task.lastError.at), " ", task.lastError.message]
        : task.reason ?? "deadline passed without an observed probe"),
      h("dt", null, "Escalated"), h("dd", null, task.escalatedAt ? at(task.escalatedAt) : "—"),
      task.nextAttemptAt ? [h("dt", null, "Next probe"), h("dd", null, when(task.nextAttemptAt))] : null),
    ctx.can.act ? resolveForm(ctx, task, { person: subject.userName, onResolved: refresh }) : null);
}

/** @param {HTMLElement} container */
export function mountEscalations(container, ctx) {
  const body = h("div", null, h("p", { class: "muted" }, "Loading…"));
  const title = h("h1", { tabindex: "-1" }, "Escalations");
  container.replaceChildren(title, h("p", { class: "help" },
    "Work the engine could not finish: a target refused (auth, permanent error) or its deadline passed without an observed probe. Remove the access by hand, then resolve it with a note."), body);
  document.title = "Escalations · scim-bridge console";

  const load = async (live) => {
    try {
      const answer = await ctx.api.get("/escalations");
      const tasks = (answer.escalations ?? answer.tasks ?? []).map(entryOf);
      if (live.disposed) return;
      title.textContent = `Escalations (${tasks.length} open)`;
      const shown = tasks.slice(0, SHOWN_MAX);
      rerender(body, () => tasks.length === 0
        ? h("p", { class: "empty" }, "No open escalations.")
        : [
          h("ol", { class: "cards", "aria-label": `${count(tasks.length, "open escalation")}, oldest first` }, shown.map((e) => item(ctx, e, () => live.refresh()))),
          tasks.length > shown.length ? h("p", { class: "help" }, `Showing the oldest ${SHOWN_MAX} of ${tasks.length}.`) : null,
        ]);
    } catch (error) {
      if (!live.disposed) ctx.fail(error);
    }
  };
  return liveView(load, 500, (event) => event.type !== "operation");
}
