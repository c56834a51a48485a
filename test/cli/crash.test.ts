import { rm } from "node:fs/promises";
import { startBridgeProcess, tempDir } from "../support/bridge-process.js";

const HEADERS = (token: string) => ({ authorization: `Bearer ${token}`, "content-type": "application/scim+json" });

describe("nothing acknowledged is lost when the process is killed (embedded PGlite)", () => {
  let dataDir: string;
  afterAll(async () => { await rm(dataDir, { recursive: true, force: true }); });

  it("keeps every user and deactivation it answered for across a SIGKILL", async () => {
    dataDir = await tempDir("scim-bridge-crash-");
    const first = await startBridgeProcess({ DATA_DIR: dataDir });
    const token = /Bearer token  : (scb_\S+)/.exec(first.stdout())![1]!;
    const acknowledged: string[] = [];
    // writes keep flowing while the kill lands; only the answered ones must survive
    let stop = false;
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        const created = await fetch(`${first.url}/scim/v2/Users`, {
          method: "POST",
          headers: HEADERS(token),
          body: JSON.stringify({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: `crash${i}@demo.test`, active: true }),
        }).catch(() => undefined);
        if (!created || created.status !== 201) break;
        const id = ((await created.json()) as { id: string }).id;
        const patched = await fetch(`${first.url}/scim/v2/Users/${id}`, {
          method: "PATCH",
          headers: HEADERS(token),
          body: JSON.stringify({ schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", path: "active", value: false }] }),
        }).catch(() => undefined);
        if (!patched || patched.status !== 200) break;
        acknowledged.push(id);
      }
    })();
    await new Promise((r) => setTimeout(r, 1500));
    first.child.kill("SIGKILL");
    stop = true;
    await writer;
    await first.exited;
    expect(acknowledged.length).toBeGreaterThan(10);

    const second = await startBridgeProcess({ DATA_DIR: dataDir });
    try {
      const list = await fetch(`${second.url}/scim/v2/Users?filter=${encodeURIComponent("active eq false")}&count=1000`, { headers: HEADERS(token) });
      const body = (await list.json()) as { totalResults: number; Resources: { id: string }[] };
      const found = new Set(body.Resources.map((r) => r.id));
      const lost = acknowledged.filter((id) => !found.has(id));
      process.stdout.write(`crash test: ${acknowledged.length} acknowledged deactivations, ${lost.length} lost, ${body.totalResults} found after restart\n`);
      expect(lost).toEqual([]);
    } finally {
      second.child.kill("SIGTERM");
      await second.exited;
    }
  }, 120_000);
});
