import { createServer, type AddressInfo, type Server } from "node:net";
import pg from "pg";
import { planFor, TargetError, type Account, type Intent, type Subject, type TargetContext } from "../../src/connector-kit.js";
import { describeConformance, kitContext } from "../../test/support/conformance.js";
import { postgresPeer, type PostgresPeer } from "../../test/support/peers/postgres-peer.js";
import connector, { type PostgresConfig } from "./index.js";
import { checkConfig, roleNameFor } from "./config.js";
import { kindOfError, kindOfSqlState } from "./errors.js";

describeConformance(connector, () => postgresPeer());

const subject = (userName: string, extra: Partial<Subject> = {}): Subject => ({ connectionId: "c", id: "s", userName, emails: [], ...extra });

async function failure(promise: Promise<unknown>): Promise<TargetError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(TargetError);
    return error as TargetError;
  }
  throw new Error("expected a TargetError, and the call succeeded");
}

describe("postgres failures as TargetErrors", () => {
  it.each([
    ["28000", "auth", "invalid_authorization_specification (role missing, NOLOGIN, pg_hba.conf)"],
    ["28P01", "auth", "invalid_password"],
    ["42501", "auth", "insufficient_privilege"],
    ["08006", "retryable", "connection_failure"],
    ["08001", "retryable", "sqlclient_unable_to_establish_sqlconnection"],
    ["57P01", "retryable", "admin_shutdown"],
    ["57P03", "retryable", "cannot_connect_now (starting up)"],
    ["57014", "retryable", "query_canceled (our statement_timeout)"],
    ["55P03", "retryable", "lock_not_available"],
    ["53300", "retryable", "too_many_connections"],
    ["40001", "retryable", "serialization_failure"],
    ["40P01", "retryable", "deadlock_detected"],
    ["2BP01", "permanent", "dependent_objects_still_exist"],
    ["42704", "permanent", "undefined_object"],
    ["3D000", "permanent", "invalid_catalog_name"],
    ["XX000", "permanent", "internal_error"],
  ])("SQLSTATE %s is %s (%s)", (code, kind) => {
    expect(kindOfSqlState(code)).toBe(kind);
  });

  it.each([
    [Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }), "retryable"],
    [Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }), "retryable"],
    [new Error("Connection terminated unexpectedly"), "retryable"],
    [new Error("Connection terminated due to connection timeout"), "retryable"],
    [new Error("Query read timeout"), "retryable"],
    [new Error("SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string"), "auth"],
    [new Error("something nobody expected"), "permanent"],
  ])("a client error %p is %s", (error, kind) => {
    expect(kindOfError(error)).toBe(kind);
  });
});

describe("postgres config", () => {
  const good = { connectionString: "postgres://bridge:s3cret@db.internal:5432/postgres?sslmode=require" };

  it.each<[string, Record<string, unknown>, RegExp | null]>([
    ["a connection string alone is enough", good, null],
    ["every field set", { ...good, roleName: "u_{{localPart}}", roleNameLowerCase: false, probeConnectionString: "postgres://db.internal:6432/postgres", loginProbe: "required", expirePassword: false, reassignOwnedTo: "offboarded", databases: ["app"], statementTimeoutMs: 5000, connectTimeoutMs: 3000 }, null],
    ["the connection string is required", {}, /connectionString must be a postgres:\/\/ URL/],
    ["it must be postgres://", { connectionString: "mysql://bridge@db/x" }, /must start with postgres:\/\//],
    ["the probe URL carries no password", { ...good, probeConnectionString: "postgres://x:pw@db/postgres" }, /must not contain a password/],
    ["the template's placeholders are known ones", { ...good, roleName: "{{mail}}" }, /unknown placeholder.*\{\{mail\}\}.*known: \{\{userName\}\}/],
    ["the template has a placeholder", { ...good, roleName: "shared" }, /must contain a placeholder/],
    ["loginProbe is one of three", { ...good, loginProbe: "yes" }, /loginProbe must be one of required, best-effort, off/],
    ["databases needs reassignOwnedTo", { ...good, databases: ["app"] }, /databases is only used with reassignOwnedTo/],
    ["timeouts are positive milliseconds", { ...good, statementTimeoutMs: 0 }, /statementTimeoutMs must be a whole number/],
    ["a misspelt field is named", { ...good, reasignOwnedTo: "x" }, /reasignOwnedTo is not a postgres config field/],
  ])("%s", (_, config, problem) => {
    const problems = checkConfig(config);
    if (problem === null) expect(problems).toEqual([]);
    else expect(problems.join("\n")).toMatch(problem);
    expect(problems.join("\n")).not.toContain("s3cret");
  });

  it("a bad config fails every call permanently, saying what to fix", async () => {
    const error = await failure(connector.validate(kitContext({ connectionString: "http://nope" } as PostgresConfig)));
    expect(error.kind).toBe("permanent");
    expect(error.message).toMatch(/connectionString must start with postgres:\/\//);
  });

  it.each<[string, Partial<PostgresConfig>, Subject, string]>([
    ["{{userName}}, lower-cased, by default", {}, subject("Alice.Smith@Example.com"), "alice.smith@example.com"],
    ["{{localPart}}: the userName up to its @", { roleName: "{{localPart}}" }, subject("alice@example.com"), "alice"],
    ["{{emailLocalPart}} with a prefix", { roleName: "u_{{emailLocalPart}}" }, subject("x", { emails: ["bob.jones@example.com"] }), "u_bob.jones"],
    ["{{externalId}}, case kept when asked", { roleName: "{{externalId}}", roleNameLowerCase: false }, subject("x", { externalId: "EMP-42" }), "EMP-42"],
  ])("a subject maps to its role: %s", (_, config, s, role) => {
    expect(roleNameFor(s, { roleTemplate: config.roleName ?? "{{userName}}", lowerCase: config.roleNameLowerCase ?? true })).toBe(role);
  });

  it.each<[string, string, Subject, RegExp]>([
    ["an attribute the IdP did not send", "{{externalId}}", subject("alice"), /needs \{\{externalId\}\}/],
    ["a name over 63 bytes, which the server would truncate", "{{userName}}", subject("a".repeat(60) + "@example.com"), /longer than 63 bytes/],
  ])("a subject that cannot be mapped is a permanent error: %s", (_, roleTemplate, s, message) => {
    let error: unknown;
    try {
      roleNameFor(s, { roleTemplate, lowerCase: true });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TargetError);
    expect((error as TargetError).kind).toBe("permanent");
    expect((error as TargetError).message).toMatch(message);
  });
});

describe("postgres connector against a real server", () => {
  let peer: PostgresPeer;
  let serial = 0;
  /** A userName unique in this run; the peer maps it to `<prefix><userName>`. */
  const name = (label: string) => `${label}-${++serial}`;
  const ctx = (intent: Intent = { kind: "deactivate" }, config: Partial<PostgresConfig> = {}, signal?: AbortSignal): TargetContext<PostgresConfig> =>
    kitContext({ ...peer.config, ...config }, intent, signal);

  async function seeded(label: string, entitlements: string[] = [], config: Partial<PostgresConfig> = {}) {
    const s = await peer.seedAccount({ userName: name(label), entitlements });
    const account = (await connector.findAccount(s, ctx({ kind: "deactivate" }, config)))!;
    expect(account).not.toBeNull();
    return { subject: s, account, role: account.id };
  }

  async function runPlan(intent: Intent, account: Account, config: Partial<PostgresConfig> = {}) {
    const answers: Record<string, string> = {};
    for (const step of planFor(connector, intent.kind)) answers[step.name] = await step.run(account, ctx(intent, config));
    return answers;
  }

  const roleRow = async (role: string) =>
    (await peer.query<{ rolcanlogin: boolean; rolvaliduntil: Date | null }>("select rolcanlogin, rolvaliduntil from pg_roles where rolname = $1", [role]))[0] ?? null;

  beforeAll(async () => {
    peer = await postgresPeer();
  }, 30_000);
  afterAll(async () => {
    await peer?.close();
  });

  it("deactivate disables login before it ends sessions, so a client that reconnects at once is refused", async () => {
    const { account, role } = await seeded("reconnect");
    const session = await peer.openSession(role);
    let reconnect: Promise<string> | undefined;
    session.on("end", () => {
      const again = new pg.Client({ connectionString: peer.url(role) });
      again.on("error", () => {});
      reconnect = again.connect().then(async () => (await again.end(), "connected"), (e: { code?: string }) => e.code ?? "no code");
    });

    expect(await runPlan({ kind: "deactivate" }, account)).toEqual({ "disable-login": "done", "terminate-sessions": "done", "revoke-role-memberships": "already-done" });
    expect(reconnect).toBeDefined();
    expect(await reconnect).toBe("28000");
    expect(await peer.sessionCount(role)).toBe(0);
    expect(await connector.verify(account, ctx())).toMatchObject({ revoked: true });
  });

  it("deactivate leaves a NOLOGIN role with an expired password, no memberships and no sessions, and verify names each observation", async () => {
    const { account, role } = await seeded("evidence", [peer.entitlement!, peer.otherEntitlement!]);
    await peer.openSession(role);
    const before = await connector.verify(account, ctx());
    expect(before.revoked).toBe(false);
    expect(before.evidence).toContain(`rolcanlogin=true`);
    expect(before.evidence).toContain(`pg_stat_activity → 2 session(s)`);
    expect(before.evidence).toContain("login probe not run (the catalogs show access)");

    await runPlan({ kind: "deactivate" }, account);
    const row = await roleRow(role);
    expect(row!.rolcanlogin).toBe(false);
    expect(row!.rolvaliduntil!.getTime()).toBeLessThanOrEqual(Date.now() + 1_000);
    const after = await connector.verify(account, ctx());
    expect(after.revoked).toBe(true);
    expect(after.evidence).toContain(`pg_roles → ${JSON.stringify(role)} rolcanlogin=false, rolvaliduntil=`);
    expect(after.evidence).toContain("pg_auth_members → member of none");
    expect(after.evidence).toContain("pg_stat_activity → 0 session(s)");
    expect(after.evidence).toMatch(new RegExp(`login probe as ".*" → refused: role ".*" is not permitted to log in \\(SQLSTATE 28000\\)`));
  });

  it("a hostile role name is quoted: only that role changes", async () => {
    const hostile = `x"; drop role postgres; --'\\ Ünïcode`;
    const others = await peer.writes();
    const s = await peer.seedAccount({ userName: hostile, entitlements: [peer.entitlement!] });
    const account = (await connector.findAccount(s, ctx()))!;
    expect(account.id).toBe(peer.roleOf(hostile));

    for (const intent of [{ kind: "revoke-entitlement", entitlement: peer.entitlement! }, { kind: "deactivate" }, { kind: "delete" }] as Intent[]) {
      await runPlan(intent, account);
      expect(await connector.verify(account, ctx(intent))).toMatchObject({ revoked: true });
    }
    expect(await peer.writes()).toEqual(others);
    expect(await peer.query("select 1 from pg_roles where rolname = 'postgres'")).toHaveLength(1);
  });

  it("revoke-entitlement revokes that one membership and keeps the login, the sessions and the other entitlement", async () => {
    const { account, role } = await seeded("entitlement", [peer.entitlement!, peer.otherEntitlement!]);
    const intent: Intent = { kind: "revoke-entitlement", entitlement: peer.entitlement! };
    expect(await runPlan(intent, account)).toEqual({ "revoke-role-membership": "done" });
    expect(await connector.verify(account, ctx(intent))).toEqual({ revoked: true, evidence: `pg_auth_members → ${JSON.stringify(role)} is not a member of ${JSON.stringify(peer.entitlement)} (member of ${JSON.stringify(peer.otherEntitlement)})` });
    expect((await roleRow(role))!.rolcanlogin).toBe(true);
    expect(await peer.sessionCount(role)).toBe(1);
    expect(await runPlan({ kind: "revoke-entitlement", entitlement: `${peer.prefix}no_such_role` }, account)).toEqual({ "revoke-role-membership": "already-done" });
  });

  it("a role that is already gone: every step is already-done and verify sees it revoked", async () => {
    const { account, role } = await seeded("gone");
    await peer.query(`select pg_terminate_backend(pid, 5000) from pg_stat_activity where usename = $1`, [role]);
    await peer.query(`drop role ${pg.escapeIdentifier(role)}`);
    for (const intent of [{ kind: "deactivate" }, { kind: "delete" }] as Intent[]) {
      const answers = await runPlan(intent, account);
      expect(new Set(Object.values(answers))).toEqual(new Set(["already-done"]));
      const probe = await connector.verify(account, ctx(intent));
      expect(probe.revoked).toBe(true);
      expect(probe.evidence).toMatch(/pg_roles → no role .*login probe as .* → refused: role .* does not exist \(SQLSTATE 28000\)/);
    }
  });

  it("never touches a superuser: findAccount and every step refuse with the reason", async () => {
    const boss = await peer.createRole(peer.roleOf("boss"), "superuser login");
    const error = await failure(connector.findAccount(subject("boss"), ctx()));
    expect(error.kind).toBe("permanent");
    expect(error.message).toMatch(/is a superuser: scim-bridge never changes superusers/);
    for (const step of planFor(connector, "delete")) {
      expect((await failure(step.run({ id: boss }, ctx({ kind: "delete" })))).message).toMatch(/superuser/);
    }
    expect((await roleRow(boss))!.rolcanlogin).toBe(true);
  });

  describe("with least privilege: a CREATEROLE login in pg_signal_backend", () => {
    let admin: string;
    let limited: Partial<PostgresConfig>;
    beforeAll(async () => {
      admin = await peer.createRole(`${peer.prefix}bridge`, "login createrole");
      await peer.query(`grant pg_signal_backend to ${pg.escapeIdentifier(admin)}`);
      limited = { connectionString: peer.url(admin) };
    });

    it("validate accepts it, and names what is missing without CREATEROLE or pg_signal_backend", async () => {
      await expect(connector.validate(ctx(undefined, limited))).resolves.toBeUndefined();
      const plain = await peer.createRole(`${peer.prefix}plain`, "login");
      const noCreateRole = await failure(connector.validate(ctx(undefined, { connectionString: peer.url(plain) })));
      expect(noCreateRole.kind).toBe("auth");
      expect(noCreateRole.message).toMatch(/neither CREATEROLE nor SUPERUSER/);
      await peer.query(`alter role ${pg.escapeIdentifier(plain)} createrole`);
      const noSignal = await failure(connector.validate(ctx(undefined, { connectionString: peer.url(plain) })));
      expect(noSignal.kind).toBe("auth");
      expect(noSignal.message).toMatch(/GRANT pg_signal_backend TO/);
    });

    it.each<[string, Intent]>([
      ["deactivate", { kind: "deactivate" }],
      ["delete", { kind: "delete" }],
      ["revoke-entitlement", { kind: "revoke-entitlement", entitlement: "" }],
    ])("runs the %s plan and verifies it", async (_, given) => {
      const intent: Intent = given.kind === "revoke-entitlement" ? { ...given, entitlement: peer.entitlement! } : given;
      const { account, role } = await seeded(`least-${given.kind}`, [peer.entitlement!], limited);
      expect(await connector.verify(account, ctx(intent, limited))).toMatchObject({ revoked: false });
      await runPlan(intent, account, limited);
      expect(await connector.verify(account, ctx(intent, limited))).toMatchObject({ revoked: true });
      // what the limited login saw in pg_stat_activity is what a superuser sees
      expect(await peer.sessionCount(role)).toBe(given.kind === "revoke-entitlement" ? 1 : 0);
    });

    it("cannot REASSIGN OWNED without the privileges of the departing role: drop-role answers auth and says so", async () => {
      const heir = await peer.createRole(`${peer.prefix}heir_limited`, "nologin");
      const config = { ...limited, reassignOwnedTo: heir, databases: ["postgres"] };
      const { account } = await seeded("least-reassign", [], config);
      const error = await failure(planFor(connector, "delete").at(-1)!.run(account, ctx({ kind: "delete" }, config)));
      expect(error.kind).toBe("auth");
      expect(error.message).toMatch(/REASSIGN\/DROP OWNED BY .* in database "postgres": permission denied to reassign objects \(SQLSTATE 42501\)/);
    });

    it("refuses to revoke its own login", async () => {
      const error = await failure(connector.findAccount(subject("bridge"), ctx(undefined, limited)));
      expect(error.kind).toBe("permanent");
      expect(error.message).toMatch(/is the connector's own login/);
    });
  });

  describe("delete of a role that owns objects", () => {
    it("without reassignOwnedTo, drop-role fails permanently naming what depends on it, and the role stays disabled", async () => {
      const { account, role } = await seeded("owner");
      const schema = `${peer.prefix}owned_${serial}`;
      await peer.query(`create schema ${pg.escapeIdentifier(schema)} authorization ${pg.escapeIdentifier(role)}`);
      try {
        const steps = planFor(connector, "delete");
        for (const step of steps.slice(0, -1)) await step.run(account, ctx({ kind: "delete" }));
        const error = await failure(steps.at(-1)!.run(account, ctx({ kind: "delete" })));
        expect(error.kind).toBe("permanent");
        expect(error.message).toContain(`owner of schema ${schema}`);
        expect(error.message).toMatch(/it stays disabled; set reassignOwnedTo/);
        expect(await connector.verify(account, ctx({ kind: "delete" }))).toMatchObject({ revoked: false });
        expect(await connector.verify(account, ctx({ kind: "deactivate" }))).toMatchObject({ revoked: true });
      } finally {
        await peer.query(`drop schema ${pg.escapeIdentifier(schema)} cascade`);
      }
    });

    it("with reassignOwnedTo, its objects move to that role, its privileges go, and the role is dropped", async () => {
      const heir = await peer.createRole(`${peer.prefix}heir`, "nologin");
      const config = { reassignOwnedTo: heir, databases: ["postgres"] };
      const { account, role } = await seeded("leaver", [], config);
      const schema = `${peer.prefix}kept_${serial}`;
      const q = pg.escapeIdentifier;
      await peer.query(`create schema ${q(schema)} authorization ${q(role)}`);
      await peer.query(`create table ${q(schema)}.t (id int)`);
      await peer.query(`alter table ${q(schema)}.t owner to ${q(heir)}`);
      await peer.query(`grant select on ${q(schema)}.t to ${q(role)}`);
      try {
        await expect(connector.validate(ctx(undefined, config))).resolves.toBeUndefined();
        expect(await runPlan({ kind: "delete" }, account, config)).toMatchObject({ "drop-role": "done" });
        expect(await roleRow(role)).toBeNull();
        expect(await peer.query("select nspowner::regrole::text as owner from pg_namespace where nspname = $1", [schema])).toEqual([{ owner: heir }]);
        expect(await connector.verify(account, ctx({ kind: "delete" }, config))).toMatchObject({ revoked: true });
        expect(await planFor(connector, "delete").at(-1)!.run(account, ctx({ kind: "delete" }, config))).toBe("already-done");
      } finally {
        await peer.query(`drop schema ${q(schema)} cascade`);
      }
    });
  });

  describe("the login probe", () => {
    it("off: the catalogs alone decide, and the evidence says so", async () => {
      const { account } = await seeded("probe-off");
      await runPlan({ kind: "deactivate" }, account);
      const probe = await connector.verify(account, ctx({ kind: "deactivate" }, { loginProbe: "off" }));
      expect(probe.revoked).toBe(true);
      expect(probe.evidence).toMatch(/login probe off$/);
    });

    describe("against a server that asks for a password (password authentication)", () => {
      let server: Server;
      let probeConnectionString: string;
      beforeAll(async () => {
        // answers every startup with AuthenticationCleartextPassword, as a password-auth pg_hba.conf line makes the server do
        server = createServer((socket) => {
          socket.on("error", () => {});
          socket.once("data", () => socket.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3])));
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        probeConnectionString = `postgres://127.0.0.1:${(server.address() as AddressInfo).port}/postgres`;
      });
      afterAll(async () => {
        await new Promise((resolve) => server.close(resolve));
      });

      it("best-effort: the probe sends no password, notes it cannot decide, and the catalogs decide", async () => {
        const { account } = await seeded("probe-password");
        await runPlan({ kind: "deactivate" }, account);
        const probe = await connector.verify(account, ctx({ kind: "deactivate" }, { probeConnectionString }));
        expect(probe.revoked).toBe(true);
        expect(probe.evidence).toMatch(/login probe as ".*" → undecided: the server asked for a password; the login probe sends none \(best-effort: the catalogs decide\)$/);
      });

      it("required: verify throws permanent and says how to fix it", async () => {
        const { account } = await seeded("probe-password-required");
        await runPlan({ kind: "deactivate" }, account);
        const error = await failure(connector.verify(account, ctx({ kind: "deactivate" }, { probeConnectionString, loginProbe: "required" })));
        expect(error.kind).toBe("permanent");
        expect(error.message).toMatch(/could not decide: the server asked for a password.*set loginProbe to best-effort/);
      });

      it("while the catalogs show access, the probe is not run at all", async () => {
        const { account } = await seeded("probe-not-run");
        let connections = 0;
        server.on("connection", () => connections++);
        const probe = await connector.verify(account, ctx({ kind: "deactivate" }, { probeConnectionString, loginProbe: "required" }));
        expect(probe).toMatchObject({ revoked: false });
        expect(connections).toBe(0);
      });
    });

    it.each(["required", "best-effort"] as const)("%s: a probe that cannot reach its server is retryable, never a guess", async (loginProbe) => {
      const { account } = await seeded(`probe-${loginProbe}`);
      await runPlan({ kind: "deactivate" }, account);
      const error = await failure(connector.verify(account, ctx({ kind: "deactivate" }, { loginProbe, probeConnectionString: "postgres://127.0.0.1:1/postgres", connectTimeoutMs: 2_000 })));
      expect(error.kind).toBe("retryable");
      expect(error.message).toMatch(/login probe as ".*" could not decide: .*ECONNREFUSED/);
    });
  });

  it("a role another transaction holds locked: the step gives up at the statement timeout, retryable, and changes nothing", async () => {
    const { account, role } = await seeded("locked");
    const holder = await peer.openSession("postgres");
    await holder.query("begin");
    await holder.query(`alter role ${pg.escapeIdentifier(role)} connection limit 5`);
    try {
      const started = Date.now();
      const error = await failure(planFor(connector, "deactivate")[0]!.run(account, ctx(undefined, { statementTimeoutMs: 300 })));
      expect(error.kind).toBe("retryable");
      expect(error.message).toMatch(/SQLSTATE (55P03|57014)/);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await holder.query("rollback");
    }
    expect((await roleRow(role))!.rolcanlogin).toBe(true);
  });

  it("an unreachable server is retryable, and the message carries no password", async () => {
    const error = await failure(connector.validate(ctx(undefined, { connectionString: "postgres://bridge:s3cret@127.0.0.1:1/postgres", connectTimeoutMs: 2_000 })));
    expect(error.kind).toBe("retryable");
    expect(error.message).toMatch(/^validate: .*ECONNREFUSED/);
    expect(error.message).not.toContain("s3cret");
  });

  it("a cancelled task stops before it connects: retryable", async () => {
    const { account, role } = await seeded("cancelled");
    const controller = new AbortController();
    controller.abort();
    const error = await failure(planFor(connector, "deactivate")[0]!.run(account, ctx(undefined, {}, controller.signal)));
    expect(error.kind).toBe("retryable");
    expect(error.message).toMatch(/cancelled/);
    expect((await roleRow(role))!.rolcanlogin).toBe(true);
  });
});
