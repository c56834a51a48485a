/**
 * Operations held by the mass-deprovisioning guard (`GET /operations?status=held`), per
 * connection, with Approve / Reject for operators (`POST /connections/:name/held/approve|reject`)
 * behind a confirmation that states the count. What was decided here stays listed, its state
 * updated live, so the operator watches the approved work complete.
 */
import { path } from "../lib/api.js";
import { h, liveView, rerender } from "../lib/dom.js";
import { at, badge, count } from "../lib/format.js";
import { personHref } from "./search.js";

/** Decisions taken in this tab: `{connection, decision, ids, at}`, newest first. */
const decided = [];
const TRACK_MAX = 100;
/** Rows drawn per connection; the API lists at most LIST_MAX held operations in all. */
const SHOWN_MAX = 200;
const LIST_MAX = 1000;
/** "3", or "at least 1000" when the list was cut at the API's limit. */
const howMany = (n) => (n >= LIST_MAX ? `at least ${n}` : String(n));
/** After a decision the list it was on disappears: the keyboard goes to the decided list. */
let focusDecided = false;

function heldTable(all) {
  const ops = all.slice(0, SHOWN_MAX);
  return h("table", { class: "grid" },
    h("caption", null, `${count(all.length, "held operation")}, oldest first${all.length > ops.length ? ` (the first ${ops.length} shown)` : ""}`),
    h("thead", null, h("tr", null, ["Person", "Kind", "Held since", "Targets", "Reason"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", null, ops.map((op) => h("tr", { dataset: { operation: op.id } },
      h("th", { scope: "row" }, op.subject.userName),
      h("td", null, op.kind),
      h("td", null, at(op.createdAt)),
      h("td", null, op.tasks.map((t) => t.target.name).join(", ") || "—"),
      h("td", null, op.reason ?? "—")))));
}

/** Note, then Approve/Reject; either asks "…all N?" before it acts. */
function decisionForm(ctx, name, ops, onDecided) {
  const noteId = `held-note-${name}`;
  const note = h("textarea", { id: noteId, rows: "2", dataset: { key: `held-note:${name}` } });
  const confirmBox = h("div", { class: "confirm", hidden: true, role: "group", "aria-label": "Confirm" });
  const buttons = h("div", { class: "actions-bar" });
  const ask = (decision) => {
    const verb = decision === "approve" ? "Approve" : "Reject";
    const consequence = decision === "approve"
      ? "Their tasks start now and revoke access in every target in scope."
      : "Nothing is done in any target; their tasks end cancelled.";
    const yes = h("button", { type: "button", class: `button ${decision === "reject" ? "danger" : ""}` }, `Yes, ${verb.toLowerCase()} ${howMany(ops.length)}`);
    const no = h("button", { type: "button", class: "button secondary" }, "Cancel");
    const close = () => {
      confirmBox.hidden = true;
      buttons.hidden = false;
      buttons.querySelector("button")?.focus();
      onDecided(); // updates that waited for the answer
    };
    no.addEventListener("click", close);
    confirmBox.addEventListener("keydown", (e) => { if (e.key === "Escape") close(); });
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      try {
        const answer = await ctx.api.post(path`/connections/${name}/held/${decision}`, note.value.trim() ? { note: note.value.trim() } : {});
        decided.unshift({ connection: name, decision, ids: ops.map((o) => o.id).slice(0, TRACK_MAX), at: new Date().toISOString() });
        ctx.announce(`${decision === "approve" ? "Approved" : "Rejected"} ${count(answer.operations, "held operation")} in ${name}.`);
        confirmBox.hidden = true;
        focusDecided = true;
        onDecided();
      } catch (error) {
        yes.disabled = false;
        ctx.fail(error);
      }
    });
    confirmBox.replaceChildren(h("p", { class: "confirm-question" }, `${verb} all ${howMany(ops.length)} held operation${ops.length === 1 ? "" : "s"} in connection ${name}? ${consequence}`), yes, " ", no);
    buttons.hidden = true;
    confirmBox.hidden = false;
    yes.focus();
  };
  buttons.append(
    h("button", { type: "button", class: "button", dataset: { key: `approve:${name}` }, on: { click: () => ask("approve") } }, `Approve ${howMany(ops.length)}…`),
    " ",
    h("button", { type: "button", class: "button danger", dataset: { key: `reject:${name}` }, on: { click: () => ask("reject") } }, `Reject ${howMany(ops.length)}…`));
  return h("div", { class: "decision" },
    h("div", { class: "field" }, h("label", { for: noteId }, "Note (optional)"), note,
      h("p", { class: "help" }, "Why, for the record: e.g. “planned re-organisation, checked with HR”.")),
    buttons, confirmBox);
}

async function decidedRows(ctx) {
  const ids = [...new Set(decided.flatMap((d) => d.ids))].slice(0, TRACK_MAX);
  const ops = await Promise.all(ids.map((id) => ctx.api.get(path`/operations/${id}`).catch(() => null)));
  return ops.filter(Boolean);
}

function decidedTable(ops) {
  const done = ops.filter((op) => ["verified", "cancelled", "rejected", "no-targets"].includes(op.state)).length;
  return h("section", { "aria-labelledby": "decided-title", class: "decided" },
    h("h2", { id: "decided-title", tabindex: "-1" }, "Decided here"),
    h("p", { class: "progress", dataset: { done: String(done), total: String(ops.length) } },
      done === ops.length ? `All ${count(ops.length, "operation")} finished.` : `${done} of ${count(ops.length, "operation")} finished; the rest are running.`,
      ops.length >= TRACK_MAX ? ` (the first ${TRACK_MAX} decided are followed here)` : ""),
    h("table", { class: "grid" },
      h("caption", null, "Operations decided in this tab, with their state as it changes"),
      h("thead", null, h("tr", null, ["Person", "Decision", "State", "Targets verified"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", null, ops.map((op) => h("tr", { dataset: { operation: op.id, state: op.state } },
        h("th", { scope: "row" }, h("a", { href: personHref(op.connectionName ?? "", op.subject.userName) }, op.subject.userName)),
        h("td", null, op.decision
          ? `${op.status === "rejected" ? "rejected" : "approved"} by ${op.decision.by}${op.decision.note ? `: ${op.decision.note}` : ""}`
          : op.status),
        h("td", null, badge(op.state)),
        h("td", null, `${op.tasks.filter((t) => t.state === "verified").length} of ${op.tasks.length}`))))));
}

/** @param {HTMLElement} container */
export function mountHeld(container, ctx) {
  const body = h("div", null, h("p", { class: "muted" }, "Loading…"));
  container.replaceChildren(h("h1", { tabindex: "-1" }, "Held operations"), h("p", { class: "help" },
    "The mass-deprovisioning guard holds deactivations when an unusual share of a connection's people leave at once. Check with the IdP's owner, then approve or reject them."), body);
  document.title = "Held operations · scim-bridge console";

  const load = async (live) => {
    // never redraw under an open confirmation: its count must stay the one asked about
    if (body.querySelector(".confirm:not([hidden])")) return;
    try {
      const [{ operations }, { connections }, tracked] = await Promise.all([ctx.api.get("/operations?status=held"), ctx.api.get("/connections"), decidedRows(ctx)]);
      if (live.disposed) return;
      const nameOf = new Map(connections.map((c) => [c.id, c.name]));
      for (const op of tracked) op.connectionName = nameOf.get(op.connectionId);
      const byConnection = new Map();
      for (const op of operations) {
        const name = nameOf.get(op.connectionId) ?? op.connectionId;
        byConnection.set(name, [...(byConnection.get(name) ?? []), op]);
      }
      rerender(body, () => [
        byConnection.size === 0 ? h("p", { class: "empty" }, "Nothing is held.") : null,
        [...byConnection].map(([name, ops]) => h("section", { class: "held-connection", "aria-labelledby": `held-${name}`, dataset: { connection: name } },
          h("h2", { id: `held-${name}` }, `${name}: ${count(ops.length, "held operation")}`),
          heldTable(ops),
          ctx.can.act ? decisionForm(ctx, name, ops, () => live.refresh()) : h("p", null, "An operator can approve or reject them."))),
        tracked.length > 0 ? decidedTable(tracked) : null,
      ]);
      if (focusDecided) {
        focusDecided = false;
        body.querySelector("#decided-title")?.focus();
      }
    } catch (error) {
      if (!live.disposed) ctx.fail(error);
    }
  };
  return liveView(load, 300);
}
