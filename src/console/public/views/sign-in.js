/** Sign in with an admin token: checked with GET /whoami before it is kept for this tab. */
import { h } from "../lib/dom.js";

/**
 * @param {HTMLElement} container
 * @param {{api: any, onSignedIn: (token: string, principal: {id: string, name: string, role: string}) => void, message?: string}} options
 */
export function mountSignIn(container, { api, onSignedIn, message }) {
  const error = h("p", { id: "sign-in-error", class: "field-error", hidden: !message }, message ?? "");
  const input = h("input", {
    id: "token", name: "token", type: "password", autocomplete: "off", spellcheck: "false", required: true,
    "aria-describedby": "token-help sign-in-error", ...(message ? { "aria-invalid": "true" } : {}),
  });
  const submit = h("button", { type: "submit", class: "button" }, "Sign in");
  const form = h("form", { class: "sign-in", novalidate: true },
    h("div", { class: "field" },
      h("label", { for: "token" }, "Admin token"),
      input,
      h("p", { id: "token-help", class: "help" },
        "Paste the admin token you were given (it starts with scba_). It stays in this tab only and is sent only in the Authorization header."),
    ),
    error,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    const fail = (text) => {
      error.textContent = text;
      error.hidden = false;
      input.setAttribute("aria-invalid", "true");
      input.focus();
    };
    if (token === "") return fail("Enter your admin token.");
    submit.disabled = true;
    try {
      const principal = await api.whoami(token);
      onSignedIn(token, principal);
    } catch (e) {
      fail(e.hint ? `${e.message}. ${e.hint}.` : `${e.message}.`);
    } finally {
      submit.disabled = false;
    }
  });
  container.replaceChildren(
    h("h1", { tabindex: "-1" }, "Sign in"),
    h("p", null, "The support console shows each person's deprovisioning: every target's state, last error, next retry and evidence."),
    form,
  );
  document.title = "Sign in · scim-bridge console";
  input.focus();
}
