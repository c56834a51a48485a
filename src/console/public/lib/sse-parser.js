/**
 * An incremental `text/event-stream` parser (the WHATWG HTML "event stream interpretation"), for
 * reading the live stream with fetch: EventSource cannot send an Authorization header, and tokens
 * never go in URLs. Feed it decoded text in chunks of any size.
 */

/**
 * @param {(event: {type: string, data: string, id: string}) => void} onEvent
 * @returns {{push(text: string): void, end(): void}}
 */
export function createSseParser(onEvent) {
  let buffer = "";
  let data = [];
  let type = "";
  let lastId = "";

  const dispatch = () => {
    if (data.length > 0) onEvent({ type: type || "message", data: data.join("\n"), id: lastId });
    data = [];
    type = "";
  };

  const line = (text) => {
    if (text === "") return dispatch();
    if (text.startsWith(":")) return; // a comment: the server's keep-alive
    const colon = text.indexOf(":");
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") data.push(value);
    else if (field === "event") type = value;
    else if (field === "id" && !value.includes("\0")) lastId = value;
    // "retry" and unknown fields: the console picks its own reconnection delay
  };

  return {
    push(text) {
      buffer += text;
      for (;;) {
        const match = /\r\n|\r|\n/.exec(buffer);
        if (!match) return;
        // a lone CR at the end may be the first half of a CRLF split across chunks
        if (match[0] === "\r" && match.index === buffer.length - 1) return;
        line(buffer.slice(0, match.index));
        buffer = buffer.slice(match.index + match[0].length);
      }
    },
    end() {
      // a CR held back in case an LF followed was a line end after all
      if (buffer.endsWith("\r")) line(buffer.slice(0, -1));
      // an event without its blank line is discarded, as the spec says
      buffer = "";
      data = [];
      type = "";
    },
  };
}
