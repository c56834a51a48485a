/**
 * What the bench does to a running SCIM server: fetch user ids, check that the two measured
 * requests really work, then drive each scenario with autocannon and keep the figures.
 */
import autocannon from "autocannon";
import { seedUserName } from "./seed-users.js";

/** A running server under test. */
export interface Server {
  name: "baseline" | "bridge";
  /** The SCIM base URL: `http://127.0.0.1:PORT/scim/v2`. */
  scimUrl: string;
  token: string;
}

export type ScenarioName = "patch-active" | "filter-username";

export interface Scenario {
  name: ScenarioName;
  /** The next request to send; called once per request, in one process, so a counter suffices. */
  next(): autocannon.Request;
}

export interface Measurement {
  server: Server["name"];
  scenario: ScenarioName;
  seconds: number;
  connections: number;
  /** Completed requests. */
  requests: number;
  /** Mean of autocannon's per-second samples. */
  requestsPerSecond: number;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  non2xx: number;
  /** Requests that got no response: socket errors and timeouts. */
  errors: number;
  /** Of `errors`, those that got no answer within REQUEST_TIMEOUT_SECONDS. */
  timeouts: number;
  statusCodes: Record<string, number>;
}

/** A PatchOp body setting `active`. */
export const patchActiveBody = (active: boolean) =>
  JSON.stringify({ schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", path: "active", value: active }] });
const PATCH_ACTIVE_FALSE = patchActiveBody(false);
const PATCH_ACTIVE_TRUE = patchActiveBody(true);

/**
 * Seconds before autocannon gives up on a request (its default is 10). Higher, so a slow but
 * working server is measured rather than failed: the baseline's filtered GET scans every user in
 * JavaScript and takes seconds under load at 100k users.
 */
const REQUEST_TIMEOUT_SECONDS = 30;

/**
 * PATCH active=false over `ids` (every seeded user), each request a real change: the first pass
 * deactivates every user, a second (if the run gets that far) reactivates them, and so on. A PATCH
 * that changes nothing writes nothing, and counting those would flatter the figures.
 */
export function patchActive(server: Server, ids: readonly string[]): Scenario {
  const path = `${new URL(server.scimUrl).pathname}/Users/`;
  let turn = 0;
  return {
    name: "patch-active",
    next: () => {
      const pass = Math.floor(turn / ids.length);
      return { method: "PATCH", path: path + ids[turn++ % ids.length]!, body: pass % 2 === 0 ? PATCH_ACTIVE_FALSE : PATCH_ACTIVE_TRUE };
    },
  };
}

/** GET /Users?filter=userName eq "…" for a random one of the `users` seeded users. */
export function filterByUserName(server: Server, users: number): Scenario {
  const path = `${new URL(server.scimUrl).pathname}/Users?filter=`;
  return {
    name: "filter-username",
    next: () => {
      const filter = `userName eq "${seedUserName(1 + Math.floor(Math.random() * users))}"`;
      return { method: "GET", path: path + encodeURIComponent(filter) };
    },
  };
}

function headers(server: Server): Record<string, string> {
  return { authorization: `Bearer ${server.token}`, "content-type": "application/scim+json", accept: "application/scim+json" };
}

/** Sends one request (its `path` from the server's root) and reads the answer as JSON. */
async function send(server: Server, request: autocannon.Request): Promise<{ status: number; json: Record<string, unknown> }> {
  const { method = "GET", path = "/", body } = request;
  const response = await fetch(new URL(path, server.scimUrl), { method, headers: headers(server), ...(body ? { body } : {}) });
  const text = await response.text();
  try {
    return { status: response.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  } catch {
    return { status: response.status, json: { unparsed: text.slice(0, 200) } };
  }
}

/** A request to `path` below the SCIM base URL. */
const scim = (server: Server, method: string, path: string, body?: string) =>
  send(server, { method, path: new URL(server.scimUrl).pathname + path, ...(body ? { body } : {}) });

/** One of each measured request, checked by hand: what is wrong, or nothing. */
export async function checkServer(server: Server, id: string, users: number): Promise<string[]> {
  const problems: string[] = [];
  const userName = seedUserName(users);
  const found = await scim(server, "GET", `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`);
  const first = Array.isArray(found.json.Resources) ? (found.json.Resources[0] as { userName?: unknown } | undefined) : undefined;
  if (found.status !== 200 || found.json.totalResults !== 1 || first?.userName !== userName) {
    problems.push(`filter userName eq "${userName}" answered ${found.status} ${JSON.stringify(found.json).slice(0, 200)}`);
  }
  const patched = await scim(server, "PATCH", `/Users/${id}`, PATCH_ACTIVE_FALSE);
  if (!(patched.status === 204 || (patched.status === 200 && patched.json.active === false))) {
    problems.push(`PATCH active=false answered ${patched.status} ${JSON.stringify(patched.json).slice(0, 200)}`);
  }
  // Back to active, so the measured run's first PATCH of this user is a real change too.
  const restored = await scim(server, "PATCH", `/Users/${id}`, PATCH_ACTIVE_TRUE);
  if (!(restored.status === 204 || (restored.status === 200 && restored.json.active === true))) {
    problems.push(`PATCH active=true answered ${restored.status} ${JSON.stringify(restored.json).slice(0, 200)}`);
  }
  return problems;
}

export async function measure(server: Server, scenario: Scenario, load: { connections: number; seconds: number }): Promise<Measurement> {
  const result = await autocannon({
    url: new URL(server.scimUrl).origin,
    connections: load.connections,
    duration: load.seconds,
    timeout: REQUEST_TIMEOUT_SECONDS,
    headers: headers(server),
    requests: [{ setupRequest: (request) => ({ ...request, ...scenario.next() }) }],
  });
  // autocannon stops without waiting for the requests still in flight, and a busy server works
  // them off afterwards; one more request of the same kind waits behind them, so none of that
  // backlog is charged to the next run.
  await send(server, scenario.next()).catch((error: unknown) => process.stderr.write(`[bench] ${server.name}: the settling request failed: ${String(error)}\n`));
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, stat]) => [code, stat.count]));
  const { mean, p50, p90, p99, max } = result.latency;
  return {
    server: server.name,
    scenario: scenario.name,
    seconds: load.seconds,
    connections: load.connections,
    requests: result.requests.total,
    requestsPerSecond: result.requests.average,
    latencyMs: { mean, p50, p90, p99, max },
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
  };
}
