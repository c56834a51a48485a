/**
 * One person: their overall state (the latest operation's worst task), then each operation,
 * newest first, with one row per target, the escalations an operator can resolve, and the
 * receipt once the operation is complete. Live events about this person re-fetch it.
 */
import { download, path, query } from "../lib/api.js";
import { coalesce, h, rerender } from "../lib/dom.js";
import { at, badge, count } from "../lib/format.js";
import { rememberedPerson, rememberPeople } from "./people-cache.js";
import { resolveForm } from "./resolve-form.js";
import { taskTable } from "./task-table.js";

/**
 * Whether the operation has a receipt to download: released, and every task closed — verified,
 * escalated and resolved by a person, or cancelled because its target runs dry (the issuer's rule,
 * src/evidence/receipts.ts; the API answers 404 with the reason otherwise).
 */
export const isComplete = (op) => op.status === "released" && op.tasks.length > 0
  && op.tasks.every((t) => t.state === "verified" || (t.state === "escalated" && t.resolution)
    || (t.state === "cancelled" && t.target.mode === "dry-run"));

function personFacts(connection, person, latest) {
  const facts = [["Connection", connection]];
  if (person) {
    facts.push(["Account", person.active ? "active in the IdP" : "deactivated in the IdP"]);
    if (person.emails?.length) facts.push(["Emails", person.emails.join(", ")]);
    if (person.externalId) facts.push(["externalId", person.externalId]);
  }
  facts.push(["Overall", latest ? badge(latest.state) : "no operations"]);
  return h("dl", { class: "facts" }, facts.map(([k, v]) => [h("dt", null, k), h("dd", null, v)]));
}

function operationSection(ctx, op, userName, refresh) {
  const headingId = `op-${op.id}`;
  const decision = op.decision
    ? h("p", null, `${op.status === "rejected" ? "Rejected" : "Approved"} by ${op.decision.by} `, at(op.decision.at), op.decision.note ? `: ${op.decision.note}` : "")
    : null;
  const escalated = op.tasks.filter((t) => t.state === "escalated" && !t.resolution);
  const receipt = isComplete(op)
    ? h("button", { type: "button", class: "button", dataset: { key: `receipt:${op.id}` }, on: {
      click: async () => {
        try {
          const name = await download(ctx.api, path`/operations/${op.id}/receipt`, `receipt-${op.id}.jws`, "application/jose");
          ctx.announce(`Receipt downloaded as ${name}.`);
        } catch (error) { ctx.fail(error); }
      },
    } }, "Download receipt")
    : null;
  return h("section", { class: "operation", "aria-labelledby": headingId, dataset: { operation: op.id } },
    h("h2", { id: headingId }, `${op.kind} `, badge(op.state), h("span", { class: "muted op-when" }, " created ", at(op.createdAt))),
    h("p", { class: "muted" }, `operation ${op.id} · status ${op.status}`, op.reason ? ` · ${op.reason}` : ""),
    decision,
    op.tasks.length > 0 ? taskTable(ctx, op, { onChanged: refresh }) : h("p", { class: "empty" }, "No target was in scope: nothing to revoke."),
    escalated.length > 0
      ? h("div", { class: "escalations-inline" },
        h("h3", null, `${count(escalated.length, "escalation")} to resolve`),
        ctx.can.act
          ? escalated.map((t) => resolveForm(ctx, t, { person: userName, onResolved: refresh }))
          : h("p", null, "An operator can resolve an escalation with a note once the access is removed by hand."))
      : null,
    receipt ? h("div", { class: "actions-bar" }, receipt, h("span", { class: "help" }, "A signed record (JWS) of what was observed, for auditors.")) : null,
  );
}

/** @param {HTMLElement} container @param {string} connection @param {string} userName */
export function mountPerson(container, ctx, connection, userName) {
  const title = h("h1", { tabindex: "-1" }, userName);
  const body = h("div", { class: "person" }, h("p", { class: "muted" }, "Loading…"));
  container.replaceChildren(h("p", { class: "crumbs" }, h("a", { href: "#/" }, "Find a person")), title, body);
  document.title = `${userName} · scim-bridge console`;

  let disposed = false;
  let person = rememberedPerson(connection, userName);
  let states = null;
  const load = async () => {
    try {
      const { operations } = await ctx.api.get(path`/connections/${connection}/subjects/${userName}/operations`);
      if (disposed) return;
      announceChanges(operations);
      rerender(body, () => [
        personFacts(connection, person, operations[0]),
        operations.length === 0
          ? h("p", { class: "empty" }, `No operations for ${userName} in connection ${connection}.`)
          : operations.map((op) => operationSection(ctx, op, userName, () => refresh())),
      ]);
    } catch (error) {
      if (!disposed) ctx.fail(error);
    }
  };
  const refresh = coalesce(() => void load(), 300);

  /** Tells screen readers what changed since the last load, target by target. */
  function announceChanges(operations) {
    const now = new Map(operations.flatMap((op) => op.tasks.map((t) => [t.id, { name: t.target.name, state: t.resolution ? "resolved" : t.state }])));
    if (states) {
      const moved = [...now].filter(([id, t]) => states.get(id)?.state !== t.state).map(([, t]) => `${t.name} is ${t.state}`);
      if (moved.length > 0) ctx.announce(`Updated: ${moved.join("; ")}.`);
    }
    states = now;
  }

  if (!person) {
    void ctx.api.get(`/people${query({ q: userName, connection, limit: 5 })}`).then(({ people }) => {
      person = people.find((p) => p.connection === connection && p.userName.toLowerCase() === userName.toLowerCase());
      if (person) rememberPeople([person]);
      if (person && !disposed) refresh();
    }, () => { /* the person's facts are a bonus: their operations are what matters */ });
  }
  void load();

  return {
    onEvent(event) {
      const d = event.data ?? {};
      if (event.type === "resync" || event.type === "poll"
        || (d.connection === connection && String(d.userName ?? "").toLowerCase() === userName.toLowerCase())) refresh();
    },
    dispose() {
      disposed = true;
      refresh.cancel();
    },
  };
}
