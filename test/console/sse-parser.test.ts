import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { PROJECT_ROOT } from "../../src/paths.js";

/** The console's parser is a browser module (plain JS, no types): loaded by URL. */
type SseEvent = { type: string; data: string; id: string };
type Parser = { push(text: string): void; end(): void };
const modulePath = pathToFileURL(join(PROJECT_ROOT, "src", "console", "public", "lib", "sse-parser.js")).href;
let createSseParser: (onEvent: (e: SseEvent) => void) => Parser;

beforeAll(async () => {
  ({ createSseParser } = (await import(modulePath)) as { createSseParser: typeof createSseParser });
});

function parse(chunks: string[]): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = createSseParser((e) => events.push(e));
  for (const c of chunks) parser.push(c);
  parser.end();
  return events;
}

describe("the console's event-stream parser", () => {
  it("reads named events with JSON data, skipping comments", () => {
    expect(parse([": live changes\n\n", 'event: task\ndata: {"taskId":"t1"}\n\n', ": heartbeat\n\n"])).toEqual([
      { type: "task", data: '{"taskId":"t1"}', id: "" },
    ]);
  });

  it("joins an event split across chunks at any character", () => {
    const text = 'event: task\ndata: {"a":1}\n\nevent: operation\ndata: {"b":2}\n\n';
    for (let cut = 1; cut < text.length; cut++) {
      expect(parse([text.slice(0, cut), text.slice(cut)])).toEqual([
        { type: "task", data: '{"a":1}', id: "" },
        { type: "operation", data: '{"b":2}', id: "" },
      ]);
    }
  });

  it("accepts CRLF and CR line ends, even a CRLF split between chunks", () => {
    expect(parse(["data: one\r", "\n\r\n", "data: two\r\r"])).toEqual([
      { type: "message", data: "one", id: "" },
      { type: "message", data: "two", id: "" },
    ]);
  });

  it("joins multi-line data with newlines and keeps the last id", () => {
    expect(parse(["id: 7\ndata: a\ndata:b\ndata:  c\n\n"])).toEqual([{ type: "message", data: "a\nb\n c", id: "7" }]);
  });

  it("drops an event whose blank line never came", () => {
    expect(parse(["event: task\ndata: {}\n"])).toEqual([]);
  });
});
