import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT, SERVE_NODE_FLAGS } from "../../src/paths.js";

/** The node flags before `dist/src/cli/index.js serve` in a command line. */
function flagsBeforeServe(words: string[]): string[] {
  const at = words.indexOf("dist/src/cli/index.js");
  expect(at).toBeGreaterThan(0);
  expect(words[at + 1]).toBe("serve");
  return words.slice(words.lastIndexOf("node", at) + 1, at);
}

describe("the node flags the bridge is run with", () => {
  it("are the same in `npm start` as the benchmarks use (src/paths.ts)", () => {
    const start = (JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts.start!;
    expect(flagsBeforeServe(start.split(/\s+/))).toEqual([...SERVE_NODE_FLAGS]);
  });

  it("are the same in the Dockerfile's CMD", () => {
    const cmd = /^CMD (\[.*\])$/m.exec(readFileSync(join(PROJECT_ROOT, "Dockerfile"), "utf8"))?.[1];
    expect(cmd).toBeDefined();
    expect(flagsBeforeServe(JSON.parse(cmd!) as string[])).toEqual([...SERVE_NODE_FLAGS]);
  });

  it("are flags this node accepts", () => {
    const run = spawnSync(process.execPath, [...SERVE_NODE_FLAGS, "-e", "0"], { encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
  });
});
