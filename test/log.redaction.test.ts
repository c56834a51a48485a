import { Writable } from "node:stream";
import { createLogger, redact } from "../src/log.js";

describe("log redaction", () => {
  it("removes tokens, passwords, authorization headers and emails wherever they appear", () => {
    const out = redact({
      authorization: "Bearer scb_abcdefghijklmnopqrstuvwxyz0123456789",
      nested: { password: "hunter2", note: "user alice@example.com used Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln" },
      message: "token scb_abcdefghijklmnopqrstuvwxyz0123456789 rejected",
      emails: [{ value: "a@b.test" }],
    });
    const text = JSON.stringify(out);
    expect(text).not.toMatch(/scb_abc|hunter2|alice@example\.com|a@b\.test|eyJhbGci/);
    expect(text).toContain("[redacted");
  });

  it("keeps plain words like 'invalid bearer token' readable", () => {
    expect(redact("invalid bearer token")).toBe("invalid bearer token");
  });

  it("redacts through the winston format on the way out", async () => {
    const chunks: string[] = [];
    const stream = new Writable({ write(chunk, _enc, cb) { chunks.push(String(chunk)); cb(); } });
    const log = createLogger("info", stream);
    log.info("request", { token: "scb_abcdefghijklmnopqrstuvwxyz0123456789", user: "bob@corp.test" });
    await new Promise((r) => setTimeout(r, 20));
    const line = JSON.parse(chunks.join("").trim().split("\n")[0]!);
    expect(line).toEqual(expect.objectContaining({ message: "request", token: "[redacted]", user: "[redacted-email]" }));
  });
});
