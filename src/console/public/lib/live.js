/**
 * Live updates: `GET /admin/api/events` read with fetch (the token in the Authorization header)
 * as a server-sent event stream. Events `task` and `operation` carry
 * `{operationId, taskId?, connection, userName, state}`; the views re-fetch what they show.
 *
 * The stream reconnects with a capped backoff, and after a reconnection every view gets a
 * `resync` (it may have missed events). A bridge without the stream (404) is polled instead.
 */
import { createSseParser } from "./sse-parser.js";

/** Seconds between polls when the bridge has no event stream. */
export const POLL_INTERVAL_MS = 5_000;
const BACKOFF_MS = [500, 1_000, 2_000, 5_000, 10_000, 30_000];

/**
 * @param {ReturnType<import("./api.js").createApi>} api
 * @param {(event: {type: string, data: Record<string, unknown>}) => void} onEvent
 * @param {(status: "connecting" | "live" | "reconnecting" | "polling" | "off") => void} onStatus
 * @returns {{close(): void}}
 */
export function connectLive(api, onEvent, onStatus) {
  const abort = new AbortController();
  let pollTimer = null;
  let failures = 0;
  let connectedBefore = false;

  const wait = (ms) => new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    abort.signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });

  const deliver = (event) => {
    let data = {};
    try {
      data = JSON.parse(event.data);
    } catch {
      return; // not one of ours
    }
    onEvent({ type: event.type, data });
  };

  const poll = () => {
    onStatus("polling");
    pollTimer = setInterval(() => onEvent({ type: "poll", data: {} }), POLL_INTERVAL_MS);
  };

  async function readOnce() {
    const response = await api.raw("GET", "/events", { accept: "text/event-stream", signal: abort.signal });
    onStatus("live");
    failures = 0;
    if (connectedBefore) onEvent({ type: "resync", data: {} });
    connectedBefore = true;
    const parser = createSseParser(deliver);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.push(value);
      }
    } finally {
      parser.end();
      reader.releaseLock();
    }
  }

  (async () => {
    onStatus("connecting");
    while (!abort.signal.aborted) {
      try {
        await readOnce();
      } catch (error) {
        if (abort.signal.aborted) return;
        if (error?.status === 404) return poll();
        if (error?.status === 401 || error?.status === 403) return onStatus("off"); // the session ends, or may not listen
      }
      if (abort.signal.aborted) return;
      onStatus("reconnecting");
      await wait(BACKOFF_MS[Math.min(failures++, BACKOFF_MS.length - 1)]);
    }
  })();

  return {
    close() {
      abort.abort();
      if (pollTimer !== null) clearInterval(pollTimer);
    },
  };
}
