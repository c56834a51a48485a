import request from "supertest";
import type { Connector } from "../../src/connector-kit.js";
import { createEngine, type Engine } from "../../src/engine/engine.js";
import { ConnectorRegistry } from "../../src/engine/registry.js";
import { engineSettings, type EngineSettings, type GuardSettings } from "../../src/engine/settings.js";
import { silentLogger } from "../../src/log.js";
import { createTarget, type Target, type TargetPolicy } from "../../src/storage/targets-repo.js";
import { taskFromRow, type Task, type TaskRow } from "../../src/storage/tasks-repo.js";
import { testDb } from "./test-db.js";
import { fakeClock, type FakeClock } from "./fake-clock.js";
import { patchBody, scimHarness, userBody, type HarnessOptions, type ScimHarness } from "./scim-app.js";

export interface EngineHarness extends ScimHarness {
  engine: Engine;
  clock: FakeClock;
  registry: ConnectorRegistry;
  /** supertest on /admin/api with the admin token. */
  admin: { get(path: string): request.Test; post(path: string, body?: unknown): request.Test; patch(path: string, body?: unknown): request.Test };
  addTarget(name: string, kind: string, policy?: Partial<TargetPolicy>, config?: Record<string, unknown>): Promise<Target>;
  /** POST /Users; returns the SCIM id. */
  createUser(userName: string, extra?: Record<string, unknown>): Promise<string>;
  /** PATCH active=false (expects 200). */
  deactivate(id: string): Promise<void>;
  reactivate(id: string): Promise<void>;
  operations(): Promise<{ id: string; kind: string; status: string; subject_id: string; user_name: string; reason: string | null }[]>;
  tasks(where?: string, values?: unknown[]): Promise<(Task & { targetName: string })[]>;
  /** Runs everything due now on the fake clock. */
  drain(): Promise<number>;
  /** Advances the clock by `ms` and drains, `times` times. */
  tick(ms: number, times?: number): Promise<void>;
}

export interface EngineHarnessOptions extends HarnessOptions {
  connectors?: Connector[];
  settings?: Partial<Omit<EngineSettings, "guard">> & { guard?: Partial<GuardSettings> };
  clock?: FakeClock;
}

/** A bridge with the engine on a fake clock: SCIM in, tasks run by `drain()`, connectors given. */
export async function engineHarness(options: EngineHarnessOptions = {}): Promise<EngineHarness> {
  const clock = options.clock ?? fakeClock();
  const registry = new ConnectorRegistry(options.connectors ?? []);
  const db = options.db ?? (await testDb());
  const engine = createEngine({ db, log: silentLogger(), registry, settings: engineSettings({ ...options.settings, guard: { enabled: false, ...options.settings?.guard } }), clock });
  const h = await scimHarness({
    ...options,
    db,
    recorders: [engine.recorder, ...(options.recorders ?? [])],
    engine: { clock, registry, wake: () => engine.wake(), metrics: engine.metrics.registry, alive: () => engine.alive(), secrets: engine.secrets },
  });
  const auth = (t: request.Test) => t.set("Authorization", `Bearer ${h.adminToken}`);
  return {
    ...h,
    engine,
    clock,
    registry,
    admin: {
      get: (path) => auth(request(h.app).get(`/admin/api${path}`)),
      post: (path, body) => auth(request(h.app).post(`/admin/api${path}`)).send((body ?? {}) as object),
      patch: (path, body) => auth(request(h.app).patch(`/admin/api${path}`)).send((body ?? {}) as object),
    },
    addTarget: (name, kind, policy = {}, config = {}) => createTarget(h.db, { connectionId: h.connectionId, name, kind, policy, config }),
    async createUser(userName, extra = {}) {
      const res = await h.scim.post("/Users", userBody(userName, extra)).expect(201);
      return res.body.id as string;
    },
    async deactivate(id) {
      clock.advance(1); // events a millisecond apart, so their order is their time's
      await h.scim.patch(`/Users/${id}`, patchBody({ op: "replace", path: "active", value: false })).expect(200);
    },
    async reactivate(id) {
      await h.scim.patch(`/Users/${id}`, patchBody({ op: "replace", path: "active", value: true })).expect(200);
    },
    async operations() {
      const r = await h.db.query<{ id: string; kind: string; status: string; subject_id: string; user_name: string; reason: string | null }>(
        "select id, kind, status, subject_id, user_name, reason from operations order by created_at, user_name",
      );
      return r.rows;
    },
    async tasks(where = "true", values = []) {
      const r = await h.db.query<TaskRow & { target_name: string }>(
        `select t.*, g.name as target_name from tasks t join targets g on g.id = t.target_id where ${where} order by t.created_at, g.name`,
        values,
      );
      return r.rows.map((row) => ({ ...taskFromRow(row), targetName: row.target_name }));
    },
    drain: () => engine.drain(),
    async tick(ms, times = 1) {
      for (let i = 0; i < times; i++) {
        clock.advance(ms);
        await engine.drain();
      }
    },
  };
}
