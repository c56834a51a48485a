import { copyFile, mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TargetError } from "../../src/connector-kit.js";
import { ConnectorRegistry, loadConnectorModules, loadConnectorsDir } from "../../src/engine/registry.js";
import { failureOf } from "../../src/engine/retry-policy.js";
import { PROJECT_ROOT } from "../../src/paths.js";

const EXAMPLE_MODULE = join(PROJECT_ROOT, "examples", "connectors-dir", "team-directory.mjs");
const objectModule = (id: string) =>
  `export default { id: ${JSON.stringify(id)}, configFields: [], async validate() {}, async findAccount() { return null; }, plans: { deactivate: [] }, async verify() { return { revoked: true, evidence: "-" }; } };\n`;

describe("connector kinds an app owner adds without forking", () => {
  it("loads every module in CONNECTORS_DIR: files, and folders with an index, in name order", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sb-connectors-"));
    await copyFile(EXAMPLE_MODULE, join(dir, "team-directory.mjs"));
    await mkdir(join(dir, "billing"));
    await writeFile(join(dir, "billing", "package.json"), '{"type": "module"}\n');
    await writeFile(join(dir, "billing", "index.js"), objectModule("billing"));
    await writeFile(join(dir, "README.md"), "not a module\n");
    await mkdir(join(dir, "empty-folder"));
    const registry = new ConnectorRegistry();
    expect(await loadConnectorsDir(registry, dir)).toEqual(["billing", "team-directory"]);
    expect(registry.ids()).toEqual(["billing", "team-directory"]);
    expect(registry.get("team-directory")!.plans.deactivate.map((s) => s.name)).toEqual(["revoke-sessions", "suspend-user"]);
  });

  it("hands a factory module the bridge's kit, so its TargetError is the engine's", async () => {
    const registry = new ConnectorRegistry();
    await loadConnectorModules(registry, [EXAMPLE_MODULE]);
    const error = await registry.get("team-directory")!.verify({ id: "1" }, {
      config: { baseUrl: "http://x", token: "t" },
      intent: { kind: "deactivate" },
      http: { request: async () => ({ status: 200, headers: new Headers(), body: { unexpected: true } as never }) },
    } as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TargetError);
    expect(failureOf(error)).toMatchObject({ kind: "permanent", bug: false });
  });

  it("recognises a TargetError made by another copy of the kit", () => {
    const brand = Symbol.for("scim-bridge.TargetError");
    const foreign = Object.assign(new Error("from a bundled kit"), { name: "TargetError", kind: "rate-limited", detail: { retryAfterMs: 5000 }, [brand]: true });
    expect(foreign).toBeInstanceOf(TargetError);
    expect(failureOf(foreign)).toMatchObject({ kind: "rate-limited", retryAfterMs: 5000, bug: false });
    expect(new Error("plain")).not.toBeInstanceOf(TargetError);
  });

  it("refuses a kind registered twice, a folder it cannot read, and a module without a default export", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sb-connectors-"));
    await writeFile(join(dir, "a.mjs"), objectModule("same"));
    await writeFile(join(dir, "b.mjs"), objectModule("same"));
    await expect(loadConnectorsDir(new ConnectorRegistry(), dir)).rejects.toThrow('connector kind "same" is registered twice');
    await expect(loadConnectorsDir(new ConnectorRegistry(), join(dir, "missing"))).rejects.toThrow(/CONNECTORS_DIR=.*missing cannot be read \(ENOENT\); create it or unset CONNECTORS_DIR/);
    const none = join(dir, "none.mjs");
    await writeFile(none, "export const x = 1;\n");
    await expect(loadConnectorModules(new ConnectorRegistry(), [none])).rejects.toThrow(/has no default export/);
    const broken = join(dir, "broken.mjs");
    await writeFile(broken, "export default {;\n");
    await expect(loadConnectorModules(new ConnectorRegistry(), [broken])).rejects.toThrow(/could not be loaded/);
  });
});
