/**
 * DOM building without markup: every piece of data becomes a text node (names, errors and
 * evidence come from IdPs and targets and are untrusted), never innerHTML.
 */

/**
 * Creates an element. `props`: `class`, `text`, `on: {event: fn}`, `dataset`, booleans for
 * boolean attributes (`hidden`, `disabled`, `required`…), anything else as an attribute.
 * Children: nodes, strings (as text), arrays of them; null, undefined and false are skipped.
 * @param {string} tag
 * @param {Record<string, unknown> | null} [props]
 * @param {...unknown} children
 * @returns {HTMLElement}
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = String(value);
    else if (key === "text") el.textContent = String(value);
    else if (key === "on") for (const [event, fn] of Object.entries(value)) el.addEventListener(event, fn);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

/** Appends children as `h` takes them. */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replaces an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/**
 * Re-renders `container` with `render()` keeping the keyboard where it was: the element focused
 * before (found again by its `data-key`) gets the focus back, and text typed in fields that carry
 * a `data-key` survives, so a live update never throws away a half-written note.
 */
export function rerender(container, render) {
  const active = document.activeElement;
  const focusKey = active instanceof HTMLElement && container.contains(active) ? active.dataset.key : undefined;
  const drafts = new Map();
  for (const field of container.querySelectorAll("textarea[data-key], input[data-key]")) drafts.set(field.dataset.key, field.value);
  const open = new Set([...container.querySelectorAll("[aria-expanded='true'][data-key]")].map((el) => el.dataset.key));
  replace(container, render());
  for (const field of container.querySelectorAll("textarea[data-key], input[data-key]")) {
    if (drafts.has(field.dataset.key) && field.value === "") field.value = drafts.get(field.dataset.key);
  }
  for (const toggle of container.querySelectorAll("[aria-expanded='false'][data-key]")) {
    if (open.has(toggle.dataset.key)) toggle.click();
  }
  if (focusKey) {
    const again = [...container.querySelectorAll("[data-key]")].find((el) => el.dataset.key === focusKey);
    if (again instanceof HTMLElement) again.focus();
  }
}

/**
 * A button that shows and hides `region` (aria-expanded/aria-controls).
 * @param {string} label @param {HTMLElement} region @param {string} key
 */
export function disclosure(label, region, key) {
  region.hidden = true;
  const button = h("button", { type: "button", class: "link-button", "aria-expanded": "false", "aria-controls": region.id, dataset: { key } }, label);
  button.addEventListener("click", () => {
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    region.hidden = !open;
  });
  return button;
}

/**
 * Calls `fn` at most once per `ms`, and once more after a burst: live events come in bursts
 * (one per task), and one re-fetch answers all of them.
 */
export function coalesce(fn, ms) {
  let timer = null;
  let again = false;
  const run = () => {
    timer = null;
    if (!again) return;
    again = false;
    fn();
    timer = setTimeout(run, ms);
  };
  const call = () => {
    again = true;
    if (timer === null) run();
  };
  call.cancel = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    again = false;
  };
  return call;
}

/**
 * The life of a view that re-reads on live updates: `load(live)` runs now and, coalesced to at
 * most one run per `ms`, on each event `accepts`; `live.refresh()` asks for a re-read (after an
 * action); `live.disposed` tells a load that finished after the view was left to write nothing.
 */
export function liveView(load, ms, accepts = () => true) {
  const live = { disposed: false, refresh: () => {} };
  const refresh = coalesce(() => void load(live), ms);
  live.refresh = refresh;
  void load(live);
  return {
    onEvent: (event) => { if (accepts(event)) refresh(); },
    dispose() {
      live.disposed = true;
      refresh.cancel();
    },
  };
}
