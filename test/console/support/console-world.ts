/**
 * The world the console's browser tests look at: a real `scim-bridge serve` process with the fake
 * target's connector, a fake target process, admin tokens per role, targets registered through
 * the admin API, and people created and deactivated over SCIM.
 */
import { rm } from "node:fs/promises";
import {
  FAKE_TARGET_CONNECTOR, killProcess, startBridgeProcess, startFakeTargetProcess, tempDir,
  type BridgeProcess, type FakeTargetProcess,
} from "../../support/bridge-process.js";
import { fakeTargetControl, type FakeTargetControl } from "../../support/fake-target/control-api.js";

export const ADMIN_TOKEN = "console-test-admin-token-0123456789";
const USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/**
 * The guard holds a connection's deactivations past GUARD_MAX_COUNT within the window; the share
 * rule is kept out of the way (GUARD_MIN_COUNT), so the third deactivation in a connection is held.
 */
export const GUARD_ENV = { GUARD: "true", GUARD_MAX_COUNT: "2", GUARD_MIN_COUNT: "100000", GUARD_WINDOW_MS: "3600000" };

export interface ConsoleWorld {
  bridge: BridgeProcess;
  fake: FakeTargetProcess;
  control: FakeTargetControl;
  /** The demo connection's SCIM bearer token (printed on the bridge's stdout). */
  demoToken: string;
  /** Admin API call with the bootstrap admin token; throws on a non-2xx answer. */
  admin<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** A new admin token with `role`, named `name`. */
  adminToken(name: string, role: "viewer" | "operator" | "app-owner" | "admin"): Promise<string>;
  /** Creates an active user over SCIM in the connection `scimToken` belongs to; resolves with its id. */
  createUser(scimToken: string, userName: string, extra?: Record<string, unknown>): Promise<string>;
  /** PATCH active=false. */
  deactivate(scimToken: string, id: string): Promise<void>;
  stop(): Promise<void>;
}

/** Polls a real process until `done(value)`, every 200 ms, up to `timeoutMs`. */
export async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last seen:\n${JSON.stringify(last, null, 2)}`);
    await new Promise((r) => setTimeout(r, 200));
    last = await read();
  }
  return last;
}

export async function startConsoleWorld(): Promise<ConsoleWorld> {
  const dataDir = await tempDir("scim-bridge-console-");
  const fake = await startFakeTargetProcess();
  let bridge: BridgeProcess;
  try {
    // LOG_LEVEL info: the listening line is how startBridgeProcess knows it is up
    bridge = await startBridgeProcess({ DATA_DIR: dataDir, ADMIN_TOKEN, CONNECTOR_MODULES: FAKE_TARGET_CONNECTOR, ...GUARD_ENV }, 60_000, { keepChars: 100_000 });
  } catch (error) {
    await killProcess(fake);
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  const home = await fetch(`${bridge.url}/`);
  if (!(home.headers.get("content-type") ?? "").startsWith("text/html")) {
    const answer = `${home.status} ${await home.text()}`;
    bridge.child.kill("SIGTERM");
    await Promise.all([bridge.exited, killProcess(fake)]);
    await rm(dataDir, { recursive: true, force: true });
    throw new Error(`the bridge does not serve the console at / (it answered ${answer}): mount consoleRoutes() from src/console/console-routes.ts in src/http/app.ts`);
  }
  const control = fakeTargetControl(fake.url);
  const demoToken = /Bearer token  : (scb_\S+)/.exec(bridge.stdout())?.[1];
  if (!demoToken) throw new Error(`the bridge printed no demo token:\n${bridge.stdout()}`);

  async function call<T>(method: string, url: string, headers: Record<string, string>, body?: unknown): Promise<T> {
    const res = await fetch(url, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${url} answered ${res.status}: ${text}`);
    return (text === "" ? null : JSON.parse(text)) as T;
  }
  const adminHeaders = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };
  const scimHeaders = (token: string) => ({ authorization: `Bearer ${token}`, "content-type": "application/scim+json" });

  return {
    bridge,
    fake,
    control,
    demoToken,
    admin: (method, path, body) => call(method, `${bridge.url}/admin/api${path}`, adminHeaders, body),
    adminToken: async (name, role) => (await call<{ token: string }>("POST", `${bridge.url}/admin/api/admin-tokens`, adminHeaders, { name, role })).token,
    createUser: async (token, userName, extra = {}) =>
      (await call<{ id: string }>("POST", `${bridge.url}/scim/v2/Users`, scimHeaders(token), { schemas: [USER_SCHEMA], userName, active: true, ...extra })).id,
    deactivate: async (token, id) => {
      await call("PATCH", `${bridge.url}/scim/v2/Users/${id}`, scimHeaders(token), { schemas: [PATCH_SCHEMA], Operations: [{ op: "replace", path: "active", value: false }] });
    },
    async stop() {
      if (bridge.child.exitCode === null) {
        bridge.child.kill("SIGTERM");
        await bridge.exited;
      }
      await killProcess(fake);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
