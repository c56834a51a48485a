/**
 * Find a person: a debounced search (`GET /people?q=&connection=&limit=20`) whose results link to
 * the person view. The API searches (prefix of userName, exact email or externalId), so the page
 * stays fast however many people a connection has; a newer keystroke aborts the older request.
 */
import { query } from "../lib/api.js";
import { h, replace } from "../lib/dom.js";
import { badge, count, when } from "../lib/format.js";
import { rememberPeople } from "./people-cache.js";

export const SEARCH_LIMIT = 20;
const DEBOUNCE_MS = 200;

/** The last search, kept while the tab lives so "back" shows it again. */
const last = { q: "", connection: "" };

export const personHref = (connection, userName) => `#/person/${encodeURIComponent(connection)}/${encodeURIComponent(userName)}`;

function resultsTable(people, q) {
  const rows = people.map((p) =>
    h("tr", null,
      h("th", { scope: "row" }, h("a", { href: personHref(p.connection, p.userName) }, p.userName)),
      h("td", null, p.connection),
      h("td", null, (p.emails ?? []).join(", ") || h("span", { class: "muted" }, "—")),
      h("td", null, p.active ? "active" : "deactivated"),
      h("td", null, p.state ? badge(p.state) : h("span", { class: "muted" }, "no operations")),
      h("td", null, when(p.lastOperationAt)),
    ));
  const more = people.length >= SEARCH_LIMIT ? ` (the first ${SEARCH_LIMIT}: type more to narrow it)` : "";
  return h("table", { class: "grid" },
    h("caption", null, `${count(people.length, "person", "people")} matching “${q}”${more}`),
    h("thead", null, h("tr", null, ...["Person", "Connection", "Emails", "Account", "Latest operation", "Last change"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", null, rows));
}

/** @param {HTMLElement} container */
export function mountSearch(container, ctx) {
  const input = h("input", { id: "q", type: "search", autocomplete: "off", spellcheck: "false", value: last.q, "aria-describedby": "q-help", "aria-controls": "results" });
  const select = h("select", { id: "search-connection" }, h("option", { value: "" }, "All connections"));
  const results = h("div", { id: "results", class: "results" });
  const form = h("form", { class: "search", role: "search" },
    h("div", { class: "field grow" },
      h("label", { for: "q" }, "Find a person"),
      input,
      h("p", { id: "q-help", class: "help" }, "The start of a userName, or a whole email address or externalId."),
    ),
    h("div", { class: "field" }, h("label", { for: "search-connection" }, "Connection"), select),
    h("button", { type: "submit", class: "button" }, "Search"),
  );
  replace(container, h("h1", { tabindex: "-1" }, "Find a person"), form, results);
  document.title = "Find a person · scim-bridge console";

  let inflight = null;
  let timer = null;
  let shown = [];
  async function search({ open = false } = {}) {
    clearTimeout(timer);
    const q = input.value.trim();
    last.q = input.value;
    last.connection = select.value;
    inflight?.abort();
    if (q === "") {
      shown = [];
      return replace(results);
    }
    const abort = (inflight = new AbortController());
    results.setAttribute("aria-busy", "true");
    try {
      const { people } = await ctx.api.get(`/people${query({ q, connection: select.value, limit: SEARCH_LIMIT })}`, { signal: abort.signal });
      if (abort.signal.aborted) return;
      shown = people.slice(0, SEARCH_LIMIT);
      rememberPeople(shown);
      ctx.clearAlert();
      replace(results, shown.length === 0 ? h("p", { class: "empty" }, `Nobody matches “${q}”.`) : resultsTable(shown, q));
      ctx.announce(shown.length === 0 ? `Nobody matches ${q}.` : `${count(shown.length, "person", "people")} found.`);
      if (open && shown.length === 1) location.hash = personHref(shown[0].connection, shown[0].userName);
    } catch (error) {
      if (error?.name !== "AbortError") ctx.fail(error);
    } finally {
      if (inflight === abort) results.removeAttribute("aria-busy");
    }
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => void search(), DEBOUNCE_MS);
  });
  select.addEventListener("change", () => void search());
  // Enter searches at once; a single match opens
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void search({ open: true });
  });

  void ctx.api.get("/connections").then(({ connections }) => {
    for (const c of connections) select.append(h("option", { value: c.name }, c.name));
    select.value = last.connection;
  }, (error) => ctx.fail(error));
  if (last.q.trim() !== "") void search();
  input.focus();

  return {
    focused: true,
    onEvent(event) {
      // a person's state changed: refresh what is shown when it concerns one of them
      const d = event.data ?? {};
      const concerned = event.type === "resync" || event.type === "poll"
        || shown.some((p) => p.connection === d.connection && p.userName.toLowerCase() === String(d.userName ?? "").toLowerCase());
      if (concerned && input.value.trim() !== "" && document.activeElement !== input) void search();
    },
    dispose() {
      clearTimeout(timer);
      inflight?.abort();
    },
  };
}
