/**
 * One operation's tasks as a table: one row per target with its state, steps (observed or
 * acknowledged), last error, next retry and evidence, and a timeline that opens under the row.
 */
import { path } from "../lib/api.js";
import { disclosure, h, replace } from "../lib/dom.js";
import { taskBadge, utc, when } from "../lib/format.js";

const COLUMNS = ["Target", "State", "Steps", "Last error", "Next retry", "Evidence", "Actions"];

/** A step with its mark: acknowledged (no API can show it), planned (dry run), observed, or not yet. */
function stepItem(step, task) {
  let mark = "awaiting probe";
  let title = "the next probe will show whether it took effect";
  if (step.acknowledged) [mark, title] = ["acknowledged", "no API can show this step's effect: recorded as acknowledged, never as observed"];
  else if (step.outcome === "planned") [mark, title] = ["planned", "dry run: planned, not done"];
  else if (task.state === "verified" && task.evidence?.revoked) [mark, title] = ["observed", "a probe observed the access gone"];
  return h("li", null, h("span", { class: "step-name" }, step.name), " ", step.outcome, " ",
    h("span", { class: `mark mark-${mark.replace(" ", "-")}`, title }, mark));
}

function stepsCell(task) {
  if (task.account && task.account.found === false) return h("span", null, "no account found (observed absent)");
  if (task.stepsDone.length === 0) return h("span", { class: "muted" }, "none yet");
  return h("ul", { class: "steps" }, task.stepsDone.map((s) => stepItem(s, task)));
}

function errorCell(task) {
  const e = task.lastError;
  if (!e) return h("span", { class: "muted" }, "—");
  return h("div", { class: "error-text" },
    h("span", { class: "error-kind" }, e.kind ?? "error"), e.at ? [" · ", when(e.at)] : null,
    h("div", null, e.message));
}

function nextCell(task) {
  if (task.held) return h("span", null, "held for approval");
  if (!task.nextAttemptAt) return h("span", { class: "muted" }, "—");
  const what = task.state === "escalated" ? " (re-probe)" : task.state === "verifying" ? " (probe)" : "";
  return h("span", null, when(task.nextAttemptAt), what);
}

function evidenceCell(task) {
  const ev = task.evidence;
  if (!ev) return h("span", { class: "muted" }, task.state === "cancelled" || task.state === "verified" ? "—" : "no probe yet");
  return h("div", null,
    h("code", { class: "evidence" }, ev.evidence),
    h("div", { class: "muted" }, ev.revoked ? "access observed gone" : "access still seen", ev.dryRun ? " (dry run)" : "", " · ", when(ev.at)));
}

function stateCell(task) {
  // why it stopped (a deadline, a dry run, a cancellation), unless the last error says it already
  const reason = task.reason && !(task.lastError && task.reason.includes(task.lastError.message)) ? task.reason : null;
  return h("div", null, taskBadge(task),
    task.resolution ? h("div", { class: "resolution" }, `resolved by ${task.resolution.by}: ${task.resolution.note}`) : null,
    reason && task.state !== "verified" ? h("div", { class: "reason" }, reason) : null,
    task.target.mode === "dry-run" ? h("div", { class: "muted" }, "dry run") : null);
}

/** What the engine recorded, from the task alone: for a bridge whose API has no timeline. */
function derivedTimeline(task, op) {
  const items = [{ at: op.createdAt, kind: "created", summary: `${op.kind} recorded` }];
  for (const s of task.stepsDone) items.push({ at: s.at, kind: "step", summary: `${s.name}: ${s.outcome}${s.acknowledged ? " (acknowledged)" : ""}` });
  if (task.lastError?.at) items.push({ at: task.lastError.at, kind: "error", summary: `${task.lastError.kind ?? "error"}: ${task.lastError.message}` });
  if (task.evidence) items.push({ at: task.evidence.at, kind: "probe", summary: task.evidence.evidence });
  if (task.resolution) items.push({ at: task.resolution.at, kind: "resolved", summary: `by ${task.resolution.by}: ${task.resolution.note}` });
  return items.sort((a, b) => String(a.at).localeCompare(String(b.at)));
}

/** Loads the operation's timeline once per table, and fills the task's list. */
function timelineLoader(ctx, op) {
  let loading = null;
  return async (task, list) => {
    let items = task.timeline;
    if (!items) {
      loading ??= ctx.api.get(path`/operations/${op.id}`).catch((error) => ({ error }));
      const full = await loading;
      items = full.error ? null : full.tasks?.find((t) => t.id === task.id)?.timeline;
    }
    const entries = items ?? derivedTimeline(task, op);
    replace(list, entries.length === 0 ? h("li", { class: "muted" }, "nothing recorded yet") : entries.map((e) =>
      h("li", null, h("time", { datetime: e.at }, utc(e.at)), " ", h("span", { class: "timeline-kind" }, e.kind), " ", e.summary)));
    if (!items) list.append(h("li", { class: "muted" }, "(from the task's record: the bridge sent no timeline)"));
  };
}

/**
 * @param {any} ctx @param {any} op an OperationView
 * @param {{onChanged: () => void}} options
 */
export function taskTable(ctx, op, { onChanged }) {
  const load = timelineLoader(ctx, op);
  const body = h("tbody");
  for (const task of op.tasks) {
    const list = h("ol", { class: "timeline" }, h("li", { class: "muted" }, "loading…"));
    const region = h("tr", { id: `timeline-${task.id}`, class: "timeline-row" }, h("td", { colspan: String(COLUMNS.length) },
      h("p", { class: "timeline-title" }, `Timeline of ${task.target.name}`), list));
    const toggle = disclosure("Timeline", region, `timeline:${task.id}`);
    toggle.setAttribute("aria-label", `Timeline of ${task.target.name}`);
    toggle.addEventListener("click", () => { if (toggle.getAttribute("aria-expanded") === "true") void load(task, list); });
    const open = ["queued", "revoking", "verifying", "escalated"].includes(task.state) && !task.resolution && !task.held;
    const retry = ctx.can.act && open
      ? h("button", { type: "button", class: "link-button", dataset: { key: `retry:${task.id}` }, "aria-label": `Retry ${task.target.name} now`, on: {
        click: async () => {
          try {
            await ctx.api.post(path`/tasks/${task.id}/retry`);
            ctx.announce(`Retrying ${task.target.name} now.`);
            onChanged();
          } catch (error) { ctx.fail(error); }
        },
      } }, "Retry now")
      : null;
    body.append(
      h("tr", { dataset: { target: task.target.name, state: task.state }, class: task.state === "escalated" && !task.resolution ? "row-escalated" : null },
        h("th", { scope: "row" }, task.target.name, h("div", { class: "muted" }, task.target.kind)),
        h("td", null, stateCell(task)),
        h("td", null, stepsCell(task)),
        h("td", null, errorCell(task)),
        h("td", null, nextCell(task)),
        h("td", null, evidenceCell(task)),
        h("td", { class: "actions" }, toggle, retry)),
      region);
  }
  return h("table", { class: "grid tasks" },
    h("caption", null, `Targets of the ${op.kind} created ${utc(op.createdAt)}: one row per target`),
    h("thead", null, h("tr", null, COLUMNS.map((c) => h("th", { scope: "col" }, c)))),
    body);
}
