import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { targetFile } from "../../src/cli/targets.js";
import { CliError } from "../../src/cli/client.js";

describe("target files (target add --config)", () => {
  let dir: string;
  const file = async (name: string, text: string) => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sb-target-file-"));
  });

  it("splits the connector's config from the policy, in YAML or JSON", async () => {
    const yaml = await file("a.yaml", "baseUrl: https://x\nretries: 3\npolicy:\n  mode: dry-run\n");
    expect(await targetFile(yaml)).toEqual({ config: { baseUrl: "https://x", retries: 3 }, policy: { mode: "dry-run" } });
    const json = await file("a.json", JSON.stringify({ baseUrl: "https://x", token: "t" }));
    expect(await targetFile(json)).toEqual({ config: { baseUrl: "https://x", token: "t" } });
  });

  it("reads !env values from the environment, so secrets stay out of the file", async () => {
    const path = await file("env.yaml", "baseUrl: https://x\ntoken: !env CRM_TOKEN\nsecrets:\n  apiKey: !env CRM_KEY\n");
    expect(await targetFile(path, { CRM_TOKEN: "tok", CRM_KEY: "key" })).toEqual({ config: { baseUrl: "https://x", token: "tok", secrets: { apiKey: "key" } } });
    await expect(targetFile(path, { CRM_TOKEN: "tok" })).rejects.toThrow(/!env CRM_KEY: that environment variable is not set/);
  });

  it("refuses what it cannot send, saying nothing was sent", async () => {
    const cases: [string, RegExp][] = [
      ["key: [unclosed\n", /is not valid YAML or JSON/],
      ["- a\n- b\n", /must hold a mapping of config fields/],
      ["a: 1\na: 2\n", /is not valid YAML or JSON: .*[Mm]ap keys must be unique/],
      ["a: 1\npolicy: fast\n", /policy: in .* must be a mapping/],
    ];
    for (const [text, message] of cases) {
      const error = await targetFile(await file("bad.yaml", text)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CliError);
      expect((error as Error).message).toMatch(message);
    }
  });
});
