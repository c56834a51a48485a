/**
 * The fake REST target (`test/support/fake-target/server.ts`) as a conformance peer for the http
 * kind: started in-process, one fresh tenant per peer, driven through its control API, with the
 * target file `connectors/http/examples/fake-target.yaml` as the config (its baseUrl and token
 * replaced by the tenant's). No jest here: the connector bench uses the same peer.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import type { Subject } from "../../../src/connector-kit.js";
import { PROJECT_ROOT } from "../../../src/paths.js";
import type { ConformancePeer } from "../conformance-peer.js";
import { fakeTargetControl, type FakeTargetControl, type RouteName } from "../fake-target/control-api.js";
import { startFakeTarget, type FakeTarget } from "../fake-target/server.js";

/** The http kind's config shape, as a target file holds it (kept loose: the kind validates it). */
export interface HttpTargetConfig {
  baseUrl: string;
  vars?: Record<string, string | number | boolean>;
  secrets?: Record<string, string>;
  allowInsecureHttp?: boolean;
  definition: Record<string, unknown>;
  [key: string]: unknown;
}

/**
 * A target file (YAML or JSON) as the CLI reads it: every top-level key except `policy` is the
 * config. `examples/<name>.yaml` under connectors/http unless the path is absolute.
 */
export function readTargetFile(name: string): { config: HttpTargetConfig; policy: unknown } {
  const path = name.startsWith("/") ? name : join(PROJECT_ROOT, "connectors", "http", "examples", name);
  const { policy, ...config } = parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  return { config: config as HttpTargetConfig, policy };
}

/** The tenant routes that change state (and "other": an unknown route is never a read we make). */
const WRITE_ROUTES: readonly RouteName[] = ["POST /users/:id/revoke-sessions", "POST /users/:id/suspend", "DELETE /users/:id", "DELETE /users/:id/teams/:team", "other"];

export interface RestPeer extends ConformancePeer<HttpTargetConfig> {
  target: FakeTarget;
  control: FakeTargetControl;
  tenant: string;
}

let peers = 0;

/** Starts a fake target with one tenant and adapts it to `ConformancePeer` for `file` (Default: fake-target.yaml). */
export async function restPeer(file = "fake-target.yaml"): Promise<RestPeer> {
  const target = await startFakeTarget();
  const control = fakeTargetControl(target.url);
  const tenant = `http-kind-${process.pid}-${++peers}`;
  const token = `token-${tenant}-${Math.random().toString(36).slice(2)}`;
  await control.seed(tenant, { token, users: [] });
  const { config: example } = readTargetFile(file);
  const config: HttpTargetConfig = { ...example, baseUrl: control.tenantUrl(tenant), secrets: { ...example.secrets, token } };
  return {
    target,
    control,
    tenant,
    config,
    badCredentials: { ...config, secrets: { ...config.secrets, token: "not-the-token" } },
    entitlement: "eng",
    otherEntitlement: "ops",
    deletes: true,
    async seedAccount({ userName, entitlements = [] }): Promise<Subject> {
      await control.seed(tenant, { users: [{ userName, teams: entitlements }] });
      return { connectionId: "conformance", id: `subject-${userName}`, userName, emails: [userName.toLowerCase()] };
    },
    async writes() {
      const { byRoute } = (await control.stats(tenant)).requests;
      return Object.fromEntries(WRITE_ROUTES.map((route) => [route, byRoute[route] ?? 0]));
    },
    async throttleNext(retryAfterSeconds) {
      // a bucket with no tokens answers 429 with this Retry-After; honest again after one request
      await control.setMode(tenant, { mode: "honest", limitPerSec: 0.001, burst: 0, retryAfterSeconds });
      const state = target.tenants.get(tenant)!;
      const handle = state.handle.bind(state);
      state.handle = (request) => {
        state.handle = handle;
        const reply = handle(request);
        state.setMode({ mode: "honest" });
        return reply;
      };
    },
    close: () => target.close(),
  };
}
