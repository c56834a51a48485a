import { rm } from "node:fs/promises";
import { runCli, startBridgeProcess, tempDir, type BridgeProcess } from "../support/bridge-process.js";

const PATCH = { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", path: "active", value: false }] };
const scimGet = (url: string, token: string) => fetch(url, { headers: { authorization: `Bearer ${token}` } });

describe("first run: `npm start` with no configuration", () => {
  let dataDir: string;
  let bridge: BridgeProcess;
  let demoToken: string;
  let adminToken: string;

  beforeAll(async () => {
    dataDir = await tempDir("scim-bridge-first-run-");
    bridge = await startBridgeProcess({ DATA_DIR: dataDir });
  }, 90_000);
  afterAll(async () => {
    if (bridge.child.exitCode === null) bridge.child.kill("SIGKILL");
    await rm(dataDir, { recursive: true, force: true });
  });

  it("prints the demo connection's SCIM base URL and token, and the token works", async () => {
    const scimUrl = /SCIM base URL : (\S+)/.exec(bridge.stdout())?.[1];
    demoToken = /Bearer token  : (scb_\S+)/.exec(bridge.stdout())?.[1] ?? "";
    adminToken = /SCIM_BRIDGE_ADMIN_TOKEN=(scba_\S+)/.exec(bridge.stdout())?.[1] ?? "";
    expect(scimUrl).toBe(`${bridge.url}/scim/v2`);
    expect(demoToken).toMatch(/^scb_[A-Za-z0-9_-]{43}$/);
    expect(adminToken).toMatch(/^scba_/);
    const res = await scimGet(`${scimUrl}/Users`, demoToken);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(expect.objectContaining({ totalResults: 0 }));
  });

  it("never writes the tokens into its JSON log lines", () => {
    const logLines = bridge.stdout().split("\n").filter((l) => l.startsWith("{"));
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join("\n")).not.toContain(demoToken);
    expect(logLines.join("\n")).not.toContain(adminToken);
  });

  it("creates, lists and rotates connections through the CLI, which talks to the running bridge", async () => {
    const env = { SCIM_BRIDGE_URL: bridge.url, SCIM_BRIDGE_ADMIN_TOKEN: adminToken };
    const created = await runCli(["connection", "create", "okta-prod", "--json"], env);
    expect(created.code).toBe(0);
    const json = JSON.parse(created.stdout) as { id: string; name: string; scimUrl: string; token: string };
    expect(Object.keys(json).sort()).toEqual(["id", "name", "scimUrl", "token"]);
    expect(json).toEqual(expect.objectContaining({ name: "okta-prod", scimUrl: `${bridge.url}/scim/v2` }));
    expect((await scimGet(`${json.scimUrl}/Users`, json.token)).status).toBe(200);

    const list = await runCli(["connection", "list"], env);
    expect(list.stdout).toMatch(/demo/);
    expect(list.stdout).toMatch(/okta-prod/);

    const rotated = await runCli(["token", "rotate", "okta-prod", "--json"], env);
    const newToken = (JSON.parse(rotated.stdout) as { token: string }).token;
    expect((await scimGet(`${json.scimUrl}/Users`, json.token)).status).toBe(401);
    expect((await scimGet(`${json.scimUrl}/Users`, newToken)).status).toBe(200);

    const tokens = JSON.parse((await runCli(["token", "list", "okta-prod", "--json"], env)).stdout) as { id: string; revokedAt: string | null }[];
    const active = tokens.find((t) => t.revokedAt === null)!;
    expect((await runCli(["token", "revoke", "okta-prod", active.id], env)).code).toBe(0);
    expect((await scimGet(`${json.scimUrl}/Users`, newToken)).status).toBe(401);
  });

  it("tells the CLI user what to do when the admin token is missing or wrong", async () => {
    const missing = await runCli(["connection", "list"], { SCIM_BRIDGE_URL: bridge.url });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/SCIM_BRIDGE_ADMIN_TOKEN is not set/);
    const wrong = await runCli(["connection", "list"], { SCIM_BRIDGE_URL: bridge.url, SCIM_BRIDGE_ADMIN_TOKEN: "scba_wrong" });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/invalid admin token/);
  });

  it("drains in-flight requests on SIGTERM and exits 0; a restart keeps the data and prints no token", async () => {
    const created = await fetch(`${bridge.url}/scim/v2/Users`, {
      method: "POST",
      headers: { authorization: `Bearer ${demoToken}`, "content-type": "application/scim+json" },
      body: JSON.stringify({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: "drain@demo.test" }),
    });
    const id = ((await created.json()) as { id: string }).id;
    const inFlight = Array.from({ length: 40 }, () =>
      fetch(`${bridge.url}/scim/v2/Users/${id}`, { method: "PATCH", headers: { authorization: `Bearer ${demoToken}`, "content-type": "application/scim+json" }, body: JSON.stringify(PATCH) })
        .then((r) => r.status)
        .catch(() => "refused"),
    );
    await new Promise((r) => setTimeout(r, 5));
    bridge.child.kill("SIGTERM");
    const statuses = await Promise.all(inFlight);
    expect(await bridge.exited).toBe(0);
    // every request that reached the bridge got its whole answer
    expect(statuses.filter((s) => s !== "refused").every((s) => s === 200)).toBe(true);

    const again = await startBridgeProcess({ DATA_DIR: dataDir });
    try {
      expect(again.stdout()).not.toMatch(/Bearer token  :/);
      const read = await scimGet(`${again.url}/scim/v2/Users/${id}`, demoToken);
      expect(read.status).toBe(200);
      expect(((await read.json()) as { active: boolean }).active).toBe(false);
    } finally {
      again.child.kill("SIGTERM");
      expect(await again.exited).toBe(0);
    }
  }, 90_000);
});
