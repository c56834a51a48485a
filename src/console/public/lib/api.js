/**
 * The admin API client: every call sends the token in the Authorization header (never in a URL)
 * and turns the API's `{error: {status, message, hint}}` into an ApiError.
 */

/** An admin API refusal or a network failure, with the API's message and hint. */
export class ApiError extends Error {
  /** @param {number} status 0: the bridge was not reached @param {string} message @param {string} [hint] */
  constructor(status, message, hint) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.hint = hint;
  }
}

export const API_BASE = "/admin/api";

/**
 * A path with each value percent-encoded: path`/connections/${name}/subjects/${userName}/operations`.
 * @param {TemplateStringsArray} strings @param {...unknown} values
 */
export function path(strings, ...values) {
  return strings.reduce((out, s, i) => out + s + (i < values.length ? encodeURIComponent(String(values[i])) : ""), "");
}

/** `?a=1&b=2` from the defined entries of `params`. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch { /* not JSON */ }
  const e = body?.error;
  return new ApiError(response.status, e?.message ?? `the bridge answered ${response.status}`, e?.hint);
}

/**
 * @param {() => string | null} tokenOf the session's token
 * @param {(error: ApiError) => void} onUnauthorized called when the token stops working (401)
 */
export function createApi(tokenOf, onUnauthorized) {
  async function send(method, p, { body, signal, accept = "application/json", token } = {}) {
    const headers = { accept, authorization: `Bearer ${token ?? tokenOf() ?? ""}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    let response;
    try {
      response = await fetch(API_BASE + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal, cache: "no-store", credentials: "omit" });
    } catch (error) {
      if (error?.name === "AbortError") throw error;
      throw new ApiError(0, "the bridge cannot be reached", "check your network, then try again");
    }
    if (!response.ok) {
      const error = await errorOf(response);
      if (response.status === 401 && token === undefined) onUnauthorized(error);
      throw error;
    }
    return response;
  }
  return {
    /** GET, parsed JSON. */
    get: async (p, options = {}) => (await send("GET", p, options)).json(),
    /** POST with a JSON body, parsed JSON (or null for 204). */
    post: async (p, body = {}, options = {}) => {
      const response = await send("POST", p, { ...options, body });
      return response.status === 204 ? null : response.json();
    },
    /** The raw response (streams, files). */
    raw: send,
    /** Checks a token before it becomes the session's: `{id, name, role}`. */
    whoami: async (token) => (await send("GET", "/whoami", { token })).json(),
  };
}

/** The file name a Content-Disposition header names, if any. */
export function fileNameOf(disposition) {
  const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition ?? "");
  if (star) return decodeURIComponent(star[1]);
  const plain = /filename="?([^";]+)"?/i.exec(disposition ?? "");
  return plain ? plain[1] : null;
}

/**
 * Downloads what GET `p` answers as a file: fetched with the token, saved through a blob URL and
 * an `<a download>`, so no token ever travels in a URL.
 */
export async function download(api, p, fallbackName, accept = "*/*") {
  const response = await api.raw("GET", p, { accept });
  const blob = await response.blob();
  const name = fileNameOf(response.headers.get("content-disposition")) ?? fallbackName;
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return name;
}
