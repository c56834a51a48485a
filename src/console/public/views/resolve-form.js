/**
 * Resolve an escalation with a note (`POST /tasks/:id/resolve {note}`), for operators: the task
 * stays `escalated` (nothing observed it gone) and the note says what a person did instead.
 */
import { path } from "../lib/api.js";
import { h } from "../lib/dom.js";

/**
 * @param {ReturnType<import("../app.js").context>} ctx
 * @param {{id: string, target: {name: string}}} task
 * @param {{person: string, onResolved: () => void}} options
 */
export function resolveForm(ctx, task, { person, onResolved }) {
  const id = `note-${task.id}`;
  const error = h("p", { id: `${id}-error`, class: "field-error", hidden: true });
  const note = h("textarea", {
    id, name: "note", rows: "2", required: true, dataset: { key: `note:${task.id}` },
    "aria-describedby": `${id}-help ${id}-error`,
  });
  const button = h("button", { type: "submit", class: "button", dataset: { key: `resolve:${task.id}` } }, "Resolve");
  const form = h("form", { class: "resolve", "aria-label": `Resolve ${task.target.name} for ${person}`, novalidate: true },
    h("div", { class: "field grow" },
      h("label", { for: id }, `Resolution note for ${task.target.name}`),
      note,
      h("p", { id: `${id}-help`, class: "help" }, "What was done instead, e.g. “removed by hand in the vendor console”. Recorded with your name."),
      error,
    ),
    button,
  );
  note.addEventListener("input", () => {
    if (error.hidden) return;
    error.hidden = true;
    note.removeAttribute("aria-invalid");
  });
  // Enter submits; Shift+Enter adds a line
  note.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = note.value.trim();
    if (text === "") {
      error.textContent = "A resolution needs a note saying what was done.";
      error.hidden = false;
      note.setAttribute("aria-invalid", "true");
      return note.focus();
    }
    button.disabled = true;
    try {
      await ctx.api.post(path`/tasks/${task.id}/resolve`, { note: text });
      note.value = "";
      ctx.announce(`Resolved ${task.target.name} for ${person}: ${text}`);
      onResolved();
    } catch (e) {
      error.textContent = e.hint ? `${e.message} — ${e.hint}` : e.message;
      error.hidden = false;
      button.disabled = false;
    }
  });
  return form;
}
