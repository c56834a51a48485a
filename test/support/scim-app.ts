import type { RequestListener } from "node:http";
import type express from "express";
import request from "supertest";
import { createApp, createHandler, type AppDeps, type AppEngine } from "../../src/http/app.js";
import { silentLogger, type Logger } from "../../src/log.js";
import { createScimAuthenticator } from "../../src/scim/auth.js";
import { changeRecorders, memoryRecorder, type ChangeRecorder, type ScimChange } from "../../src/scim/changes.js";
import { createAdminToken } from "../../src/storage/admin-tokens-repo.js";
import { createConnection } from "../../src/storage/connections-repo.js";
import { createBearerToken } from "../../src/storage/credentials-repo.js";
import type { Db } from "../../src/storage/db.js";
import { testDb } from "./test-db.js";

export const SCIM_JSON = "application/scim+json";
export const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
export const CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User";
export const CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group";
export const ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
export const ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error";

export interface ScimHarness {
  db: Db;
  /** The bridge's request listener, as the server runs it: the SCIM fast lane, then the express app. */
  app: RequestListener;
  /** The express app behind the fast lane, for tests that look at its routes. */
  expressApp: express.Express;
  /** Bearer token of the connection named "acme". */
  token: string;
  connectionId: string;
  /** An admin token (role admin). */
  adminToken: string;
  changes: ScimChange[];
  /** supertest agent bound to the app with the acme token: scim.get("/Users"). */
  scim: ScimClient;
  /** Another connection of the same bridge, for tenancy tests. */
  other(): Promise<ScimClient & { connectionId: string }>;
  close(): Promise<void>;
}

export interface ScimClient {
  get(path: string): request.Test;
  post(path: string, body?: unknown): request.Test;
  put(path: string, body?: unknown): request.Test;
  patch(path: string, body?: unknown): request.Test;
  delete(path: string): request.Test;
}

export function scimClient(app: RequestListener, token: string): ScimClient {
  const auth = (t: request.Test) => t.set("Authorization", `Bearer ${token}`);
  const withBody = (t: request.Test, body: unknown) => (body === undefined ? t : t.set("Content-Type", SCIM_JSON).send(JSON.stringify(body)));
  return {
    get: (path) => auth(request(app).get(`/scim/v2${path}`)),
    post: (path, body) => withBody(auth(request(app).post(`/scim/v2${path}`)), body),
    put: (path, body) => withBody(auth(request(app).put(`/scim/v2${path}`)), body),
    patch: (path, body) => withBody(auth(request(app).patch(`/scim/v2${path}`)), body),
    delete: (path) => auth(request(app).delete(`/scim/v2${path}`)),
  };
}

export interface HarnessOptions {
  log?: Logger;
  recorders?: ChangeRecorder[];
  db?: Db;
  maxBodyBytes?: number;
  /** The engine's HTTP surfaces (admin routes, /metrics, readiness). */
  engine?: AppEngine;
}

/** A bridge app on a fresh migrated database, with one connection ("acme") and its token. */
export async function scimHarness(options: HarnessOptions = {}): Promise<ScimHarness> {
  const db = options.db ?? (await testDb());
  const log = options.log ?? silentLogger();
  const recorder = memoryRecorder();
  const connection = await createConnection(db, "acme");
  const { token } = await createBearerToken(db, connection.id, "test");
  const { token: adminToken } = await createAdminToken(db, { name: "test-admin", role: "admin" });
  const authenticator = createScimAuthenticator(db, log);
  const recorders = [recorder, ...(options.recorders ?? [])];
  const deps: AppDeps = {
    db,
    log,
    authenticator,
    recorder: changeRecorders(...recorders),
    limits: { maxResults: 1000, bulkMaxOperations: 100, maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024 },
    publicUrl: "https://bridge.test",
    ...(options.engine ? { engine: options.engine } : {}),
  };
  const expressApp = createApp(deps);
  const app = createHandler(deps, expressApp);
  let others = 0;
  return {
    db,
    app,
    expressApp,
    token,
    connectionId: connection.id,
    adminToken,
    changes: recorder.changes,
    scim: scimClient(app, token),
    async other() {
      const c = await createConnection(db, `other-${++others}`);
      const { token: t } = await createBearerToken(db, c.id, "test");
      return Object.assign(scimClient(app, t), { connectionId: c.id });
    },
    async close() {
      await authenticator.settled();
      await db.close();
    },
  };
}

/** Asserts a whole RFC 7644 §3.12 error body (like scimmy-routers' test/hooks/responses.js). */
export function expectScimError(res: request.Response, status: number, scimType?: string, detail?: RegExp | string): void {
  expect({ status: res.status, body: res.body }).toEqual({
    status,
    body: expect.objectContaining({
      schemas: [ERROR_SCHEMA],
      status: String(status),
      ...(scimType ? { scimType } : {}),
      ...(detail ? { detail: typeof detail === "string" ? detail : expect.stringMatching(detail) } : {}),
    }),
  });
  expect(JSON.stringify(res.body)).not.toMatch(/\bat .+\.(js|ts):\d+|select |insert |update .* set /i);
}

export const userBody = (userName: string, extra: Record<string, unknown> = {}) => ({
  schemas: [CORE_USER],
  userName,
  name: { givenName: userName.split("@")[0], familyName: "Test" },
  emails: [{ value: userName, type: "work", primary: true }],
  active: true,
  ...extra,
});

export const patchBody = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });
