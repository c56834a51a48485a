/**
 * The support console: sign-in, the hash router (`#/`, `#/person/<connection>/<userName>`,
 * `#/escalations`, `#/held`, `#/targets`), the live stream, and the announcer. It talks to
 * /admin/api only; each view is its own module.
 */
import { createApi } from "./lib/api.js";
import { h, replace } from "./lib/dom.js";
import { connectLive } from "./lib/live.js";
import { capabilities, forgetToken, storedToken, storeToken } from "./lib/session.js";
import { mountEscalations } from "./views/escalations.js";
import { mountHeld } from "./views/held.js";
import { mountPerson } from "./views/person.js";
import { mountSearch } from "./views/search.js";
import { mountSignIn } from "./views/sign-in.js";
import { mountTargets } from "./views/targets.js";

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const main = $("main");
const alertBox = $("alert");
const announcer = $("announcer");

const session = { token: storedToken(), principal: null, can: capabilities(null), live: null };
/** The mounted view: `{onEvent?(event), dispose?()}`. */
let view = null;

const api = createApi(() => session.token, (error) => signOut(`Signed out: ${error.message}.`));

/** Says `text` to screen readers through the polite live region. */
function announce(text) {
  announcer.textContent = "";
  // a fresh text node after a tick is announced even when the text repeats
  setTimeout(() => { announcer.textContent = text; }, 30);
}

/** Shows an error (with the API's hint) in the alert region, which screen readers read at once. */
function fail(error) {
  const message = error?.message ?? String(error);
  replace(alertBox,
    h("p", null, h("strong", null, "Error: "), message, error?.hint ? ` — ${error.hint}` : ""),
    h("button", { type: "button", class: "button secondary", on: { click: clearAlert } }, "Dismiss"),
  );
  alertBox.hidden = false;
}
function clearAlert() {
  alertBox.hidden = true;
  alertBox.replaceChildren();
}

const ROUTES = [
  { name: "search", pattern: /^#?\/?$/, mount: mountSearch, needs: "read" },
  { name: "search", pattern: /^#\/search$/, mount: mountSearch, needs: "read" },
  { name: "person", pattern: /^#\/person\/([^/]+)\/([^/]+)$/, mount: mountPerson, needs: "read" },
  { name: "escalations", pattern: /^#\/escalations$/, mount: mountEscalations, needs: "read" },
  { name: "held", pattern: /^#\/held$/, mount: mountHeld, needs: "read" },
  { name: "targets", pattern: /^#\/targets$/, mount: mountTargets, needs: "targets" },
];

/** What every view gets. */
const context = () => ({ api, principal: session.principal, can: session.can, announce, fail, clearAlert });

function route({ focus } = { focus: true }) {
  if (!session.principal) return;
  view?.dispose?.();
  view = null;
  clearAlert();
  const hash = location.hash;
  let found = ROUTES.find((r) => r.pattern.test(hash) && session.can[r.needs]);
  if (!found) {
    // app owners see targets only; an unknown address shows the start page
    found = session.can.read ? ROUTES[0] : ROUTES[ROUTES.length - 1];
  }
  const decode = (p) => { try { return decodeURIComponent(p); } catch { return p; } }; // a hand-typed "%" stays as it is
  const params = (found.pattern.exec(hash) ?? []).slice(1).map(decode);
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link.getAttribute("data-nav") === found.name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const container = h("div", { class: `view view-${found.name}` });
  main.replaceChildren(container);
  view = found.mount(container, context(), ...params) ?? null;
  if (focus && !view?.focused) container.querySelector("h1")?.focus();
}

function setLiveStatus(status) {
  const el = $("live-status");
  el.dataset.status = status;
  el.textContent = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", polling: "Refreshing every 5 s", off: "Live updates off" }[status] ?? status;
  el.title = status === "live" ? "Changes appear as they happen" : status === "polling" ? "This bridge has no event stream: the console polls" : "";
}

function startSession(token, principal) {
  session.token = token;
  session.principal = principal;
  session.can = capabilities(principal.role);
  storeToken(token);
  $("who").textContent = `${principal.name} (${principal.role})`;
  $("session").hidden = false;
  const nav = $("nav");
  nav.hidden = false;
  for (const item of nav.querySelectorAll("[data-needs]")) item.hidden = !session.can[item.getAttribute("data-needs")];
  session.live = connectLive(api, (event) => view?.onEvent?.(event), setLiveStatus);
  route({ focus: false });
  if (!view?.focused) main.querySelector("h1")?.focus();
  announce(`Signed in as ${principal.name}, role ${principal.role}.`);
}

function signOut(message) {
  view?.dispose?.();
  view = null;
  session.live?.close();
  session.live = null;
  session.token = null;
  session.principal = null;
  session.can = capabilities(null);
  forgetToken();
  $("session").hidden = true;
  $("nav").hidden = true;
  clearAlert();
  const container = h("div", { class: "view view-sign-in" });
  main.replaceChildren(container);
  mountSignIn(container, { api, onSignedIn: startSession, ...(message ? { message } : {}) });
  announce(message ?? "Signed out.");
}

async function boot() {
  $("skip-link").addEventListener("click", (event) => {
    event.preventDefault(); // the hash is the router's
    main.focus();
  });
  $("sign-out").addEventListener("click", () => signOut());
  window.addEventListener("hashchange", () => route());
  const token = session.token;
  if (!token) return signOut("");
  try {
    startSession(token, await api.whoami(token));
  } catch (error) {
    signOut(error.status === 401 ? "Your token is no longer valid: sign in again." : `${error.message}.`);
  }
}

void boot();
