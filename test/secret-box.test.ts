import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../src/config.js";
import { loadSecretBox, parseSecretsKeys, secretBox, SecretBoxError, type Sealed } from "../src/secret-box.js";
import { openTargetConfig, resealTargetConfig, sealTargetConfig, maskTargetConfig } from "../src/engine/target-config.js";
import type { Connector } from "../src/connector-kit.js";

const key = () => randomBytes(32);
const quiet = { warn: () => undefined, info: () => undefined };

const kind = {
  id: "kind",
  configFields: [
    { name: "baseUrl", description: "root" },
    { name: "token", description: "token", secret: true },
    { name: "secrets", description: "more", secret: true, type: "object" },
  ],
} as unknown as Connector;

describe("connector secrets at rest (AES-256-GCM)", () => {
  it("opens what it sealed, and the stored form holds no plaintext", () => {
    const box = secretBox([key()]);
    const sealed = box.seal("token", "tok-very-secret");
    expect(JSON.stringify(sealed)).not.toContain("tok-very-secret");
    expect(sealed.$sealed).toMatch(/^v1\.[0-9a-f]{8}\.[\w-]+\.[\w-]+$/);
    expect(box.open("token", sealed)).toBe("tok-very-secret");
    expect(box.open("secrets", box.seal("secrets", { a: "1", b: "2" }))).toEqual({ a: "1", b: "2" });
  });

  it("seals the same value differently each time (a random IV)", () => {
    const box = secretBox([key()]);
    expect(box.seal("token", "x").$sealed).not.toBe(box.seal("token", "x").$sealed);
  });

  it("refuses a value moved to another field, or altered by one byte", () => {
    const box = secretBox([key()]);
    const sealed = box.seal("token", "tok");
    expect(() => box.open("password", sealed)).toThrow(/does not authenticate/);
    const [v, id, iv, data] = sealed.$sealed.split(".");
    const bytes = Buffer.from(data!, "base64url");
    bytes[0] = bytes[0]! ^ 1;
    const altered: Sealed = { $sealed: [v, id, iv, bytes.toString("base64url")].join(".") };
    expect(() => box.open("token", altered)).toThrow(SecretBoxError);
  });

  it("names the missing key when SECRETS_KEY no longer holds the one that sealed a value", () => {
    const old = secretBox([key()]);
    const sealed = old.seal("token", "tok");
    expect(() => secretBox([key()]).open("token", sealed)).toThrow(new RegExp(`sealed with secrets key ${old.primaryKeyId}, which SECRETS_KEY does not hold.*put that key back`));
  });

  it("rotates: the new key seals, the old one still opens, and resealing moves values to the new key", () => {
    const oldKey = key();
    const newKey = key();
    const config = sealTargetConfig(kind, { baseUrl: "https://x", token: "tok" }, secretBox([oldKey]));
    const rotated = secretBox([newKey, oldKey]);
    expect(openTargetConfig(config, rotated)).toEqual({ baseUrl: "https://x", token: "tok" });
    const resealed = resealTargetConfig(config, rotated)!;
    expect(rotated.keyIdOf(resealed.token as Sealed)).toBe(rotated.primaryKeyId);
    expect(openTargetConfig(resealed, secretBox([newKey]))).toEqual({ baseUrl: "https://x", token: "tok" });
    expect(resealTargetConfig(resealed, rotated)).toBeNull();
  });

  it("seals only the fields the kind marks secret, and masks them in views", () => {
    const box = secretBox([key()]);
    const config = sealTargetConfig(kind, { baseUrl: "https://x", token: "tok", secrets: { s: "1" } }, box);
    expect(config.baseUrl).toBe("https://x");
    expect(config.token).toHaveProperty("$sealed");
    expect(config.secrets).toHaveProperty("$sealed");
    expect(maskTargetConfig(kind, config)).toEqual({ baseUrl: "https://x", token: "[secret]", secrets: "[secret]" });
    expect(maskTargetConfig(kind, { baseUrl: "https://x", token: "stored-in-clear" })).toEqual({ baseUrl: "https://x", token: "[secret]" });
  });

  it("reads SECRETS_KEY as base64 or hex keys, newest first, and names a bad one with the fix", () => {
    const a = key();
    const b = key();
    const parsed = parseSecretsKeys(`${a.toString("base64")}, ${b.toString("hex")}`);
    expect(parsed).toEqual({ keys: [a, b] });
    expect(parseSecretsKeys("short")).toEqual({ problem: expect.stringContaining("openssl rand -base64 32") });
    expect(() => loadConfig({ SECRETS_KEY: "nope" })).toThrow(/SECRETS_KEY key 1 is not 32 bytes/);
    expect(loadConfig({ SECRETS_KEY: a.toString("base64") }).secretsKeys).toEqual([a]);
  });

  it("without SECRETS_KEY, generates one key file (mode 0600) in DATA_DIR and reuses it", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "sb-keys-"));
    const first = await loadSecretBox({ keys: undefined, dataDir, sharedDatabase: false }, quiet);
    const second = await loadSecretBox({ keys: undefined, dataDir, sharedDatabase: false }, quiet);
    expect(second.open("token", first.seal("token", "tok"))).toBe("tok");
    expect((await stat(join(dataDir, "secrets.key"))).mode & 0o777).toBe(0o600);
    expect(parseSecretsKeys((await readFile(join(dataDir, "secrets.key"), "utf8")).trim())).toHaveProperty("keys");
  });

  it("warns that replicas must share the key when the database is shared and the key is a local file", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "sb-keys-"));
    const warnings: string[] = [];
    await loadSecretBox({ keys: undefined, dataDir, sharedDatabase: true }, { warn: (m) => warnings.push(m), info: () => undefined });
    expect(warnings).toEqual([expect.stringContaining("set SECRETS_KEY")]);
  });
});
