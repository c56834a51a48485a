/**
 * The ldap kind against a real slapd (Debian's package) started by the tests: the conformance kit
 * for each disable style and group shape, then what is particular to LDAP.
 */
import { randomUUID } from "node:crypto";
import { createServer, connect, type Server, type Socket } from "node:net";
import { Attribute, Change } from "ldapts";
import { planFor, TargetError, type Account, type Intent, type Subject, type TargetErrorKind } from "../../src/connector-kit.js";
import { describeConformance, kitContext } from "../../test/support/conformance.js";
import { GROUPS, PEOPLE, POLICY_DN, startSlapd, SUFFIX, type SlapdPeer } from "../../test/support/peers/slapd.js";
import connector, { type LdapConfig } from "./index.js";
import { targetErrorOf as failure } from "../../test/support/target-error-of.js";

describe("with openldap-ppolicy and groupOfNames (the defaults)", () => describeConformance(connector, () => startSlapd()));
describe("with active-directory userAccountControl (an AD-like schema on slapd)", () => describeConformance(connector, () => startSlapd({ disableStyle: "active-directory" })));
describe("with a disable attribute and posixGroup memberUid", () => describeConformance(connector, () => startSlapd({ disableStyle: "attribute", memberAttribute: "memberUid" })));
describe("with groupOfUniqueNames uniqueMember", () => describeConformance(connector, () => startSlapd({ memberAttribute: "uniqueMember" })));

let people = 0;
const person = (label: string) => `${label}-${++people}@example.com`;
const ctx = (config: LdapConfig, intent: Intent = { kind: "deactivate" }, signal?: AbortSignal) => kitContext(config, intent, signal);


async function runPlan(account: Account, config: LdapConfig, intent: Intent = { kind: "deactivate" }): Promise<string[]> {
  const outcomes: string[] = [];
  for (const step of planFor(connector, intent.kind)) outcomes.push(`${step.name}: ${await step.run(account, ctx(config, intent))}`);
  return outcomes;
}

/** Polls until `check` holds (a real peer's sockets close asynchronously), at most 2 s. */
async function eventually(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(check()).toBe(true);
}

/** A TCP server that accepts connections and never answers, counting the ones still open. */
async function silentServer(): Promise<{ url: string; open: () => number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    socket.resume(); // read (and drop) what arrives, so the client's FIN is seen
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `ldap://127.0.0.1:${port}`,
    open: () => sockets.size,
    close: () => { for (const s of sockets) s.destroy(); return new Promise((resolve) => server.close(() => resolve())); },
  };
}

/** A TCP proxy in front of slapd, counting the connections open through it. */
async function countingProxy(target: string): Promise<{ url: string; open: () => number; opened: () => number; close: () => Promise<void> }> {
  const { hostname, port } = new URL(target);
  let open = 0;
  let opened = 0;
  const server: Server = createServer((client) => {
    open++;
    opened++;
    const upstream = connect(Number(port), hostname);
    client.pipe(upstream).pipe(client);
    const end = () => { client.destroy(); upstream.destroy(); };
    client.on("error", end);
    upstream.on("error", end);
    client.once("close", () => { open--; upstream.destroy(); });
    upstream.once("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `ldap://127.0.0.1:${(server.address() as { port: number }).port}`,
    open: () => open,
    opened: () => opened,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe("the ldap connector against slapd", () => {
  let peer: SlapdPeer;
  beforeAll(async () => {
    peer = await startSlapd({ tls: true });
  }, 30_000);
  afterAll(async () => {
    await peer?.close();
  });

  const seed = async (label: string, entitlements: string[] = []): Promise<{ subject: Subject; account: Account }> => {
    const subject = await peer.seedAccount({ userName: person(label), entitlements });
    const account = await connector.findAccount(subject, ctx(peer.config));
    if (!account) throw new Error(`seeded ${subject.userName} and did not find it`);
    return { subject, account };
  };

  describe("deactivate", () => {
    it("locks the account with ppolicy's permanent lock, so that even its right password no longer binds", async () => {
      const { subject, account } = await seed("locked");
      expect(await peer.canBind(subject.userName)).toBe(true);
      expect(await runPlan(account, peer.config)).toEqual(["remove-group-memberships: done", "disable-account: done"]);
      expect(await peer.canBind(subject.userName)).toBe(false);
      expect(await peer.entry(account.id)).toMatchObject({ pwdAccountLockedTime: "000001010000Z" });
    });

    it("removes every membership under groupBase, and leaves the other members and groups elsewhere alone", async () => {
      const { account } = await seed("member", ["vpn", "wiki"]);
      const elsewhere = `cn=elsewhere,${SUFFIX}`;
      await peer.asRoot((c) => c.add(elsewhere, { objectClass: "groupOfNames", cn: "elsewhere", member: account.id }));
      await runPlan(account, peer.config);
      for (const cn of ["staff", "vpn", "wiki"]) {
        const members = await peer.members(cn);
        expect(members).not.toContain(account.id);
        expect(members).toContain(peer.userDn("bystander"));
      }
      const outside = await peer.asRoot((c) => c.search(elsewhere, { scope: "base", attributes: ["member"] }));
      expect(outside.searchEntries[0]!.member).toBe(account.id);
    });

    it("verify says what it read: the lock attribute and each group still listing the account", async () => {
      const { account } = await seed("evidence", ["vpn"]);
      const dn = account.id;
      expect(await connector.verify(account, ctx(peer.config))).toEqual({
        revoked: false,
        evidence: `search base "${dn}" → no pwdAccountLockedTime (not locked); search sub "${GROUPS}" (member=${dn}) → 2 groups: cn=staff,${GROUPS}; cn=vpn,${GROUPS}`,
      });
      await runPlan(account, peer.config);
      expect(await connector.verify(account, ctx(peer.config))).toEqual({
        revoked: true,
        evidence: `search base "${dn}" → pwdAccountLockedTime=000001010000Z (locked); search sub "${GROUPS}" (member=${dn}) → no groups`,
      });
    });

    it("is not revoked while any group still lists the account, locked or not", async () => {
      const { account } = await seed("relisted");
      await runPlan(account, peer.config);
      await peer.asRoot((c) => c.modify(peer.groupDn("staff"), new Change({ operation: "add", modification: new Attribute({ type: "member", values: [account.id] }) })));
      expect(await connector.verify(account, ctx(peer.config))).toMatchObject({ revoked: false, evidence: expect.stringContaining(`1 group: cn=staff,${GROUPS}`) });
    });

    it("replaces a temporary lockout with the permanent lock", async () => {
      const { account } = await seed("temporary");
      await peer.asRoot((c) => c.modify(account.id, new Change({ operation: "replace", modification: new Attribute({ type: "pwdAccountLockedTime", values: ["20300101000000Z"] }) })));
      expect(await connector.verify(account, ctx(peer.config))).toMatchObject({ revoked: false, evidence: expect.stringContaining("pwdAccountLockedTime=20300101000000Z (not permanently locked)") });
      expect(await runPlan(account, peer.config)).toEqual(["remove-group-memberships: done", "disable-account: done"]);
      expect(await peer.entry(account.id)).toMatchObject({ pwdAccountLockedTime: "000001010000Z" });
    });

    it("treats an entry that is gone as disabled: nothing can bind as it", async () => {
      const { account } = await seed("vanished");
      await peer.asRoot((c) => c.del(account.id));
      expect(await runPlan(account, peer.config)).toEqual(["remove-group-memberships: done", "disable-account: already-done"]);
      expect(await connector.verify(account, ctx(peer.config))).toMatchObject({ revoked: true, evidence: expect.stringContaining("noSuchObject (the entry is gone)") });
    });
  });

  describe("delete", () => {
    it("deletes the entry after its memberships; verify sees noSuchObject and no group listing it", async () => {
      const { account } = await seed("deleted", ["vpn"]);
      const intent: Intent = { kind: "delete" };
      expect(await runPlan(account, peer.config, intent)).toEqual(["remove-group-memberships: done", "delete-account: done"]);
      expect(await peer.entry(account.id)).toBeNull();
      expect(await connector.verify(account, ctx(peer.config, intent))).toEqual({
        revoked: true,
        evidence: `search base "${account.id}" → noSuchObject (the entry is gone); search sub "${GROUPS}" (member=${account.id}) → no groups`,
      });
    });

    it("refuses, permanently, to delete an entry with entries below it", async () => {
      const { account } = await seed("parent");
      await peer.asRoot((c) => c.add(`cn=laptop,${account.id}`, { objectClass: "device", cn: "laptop" }));
      const error = await failure(connector.plans.delete[1]!.run(account, ctx(peer.config, { kind: "delete" })));
      expect(error).toMatchObject({ kind: "permanent", message: expect.stringContaining("it has entries below it (notAllowedOnNonLeaf)") });
      expect(await peer.entry(account.id)).not.toBeNull();
      await peer.asRoot((c) => c.del(`cn=laptop,${account.id}`));
    });
  });

  describe("revoke-entitlement", () => {
    const revoke = (entitlement: string): Intent => ({ kind: "revoke-entitlement", entitlement });

    it("removes the one group an entitlement names, by cn or by DN", async () => {
      const { account } = await seed("entitled", ["vpn", "wiki"]);
      expect(await runPlan(account, peer.config, revoke("vpn"))).toEqual(["remove-group-membership: done"]);
      expect(await runPlan(account, peer.config, revoke(peer.groupDn("wiki")))).toEqual(["remove-group-membership: done"]);
      expect(await peer.members("vpn")).not.toContain(account.id);
      expect(await peer.members("wiki")).not.toContain(account.id);
      expect(await peer.members("staff")).toContain(account.id);
      expect(await connector.verify(account, ctx(peer.config, revoke("vpn")))).toEqual({
        revoked: true, evidence: `search base "${peer.groupDn("vpn")}" (member=${account.id}) → 0 entries (not a member)`,
      });
      expect(await connector.verify(account, ctx(peer.config, revoke("staff")))).toMatchObject({ revoked: false });
    });

    it("finds nothing to revoke in a group that does not exist, and verify says so", async () => {
      const { account } = await seed("no-group");
      expect(await runPlan(account, peer.config, revoke("no-such-group"))).toEqual(["remove-group-membership: already-done"]);
      expect(await connector.verify(account, ctx(peer.config, revoke("no-such-group")))).toEqual({
        revoked: true, evidence: `search sub "${GROUPS}" (cn=no-such-group) → no such group (nothing to be a member of)`,
      });
      expect(await connector.verify(account, ctx(peer.config, revoke(`cn=gone,${GROUPS}`)))).toMatchObject({ revoked: true, evidence: expect.stringContaining("noSuchObject (the group is gone)") });
    });

    it("refuses a cn that names two groups, asking for the DN", async () => {
      const { account } = await seed("ambiguous");
      await peer.asRoot(async (c) => {
        await c.add(`ou=teams,${GROUPS}`, { objectClass: "organizationalUnit", ou: "teams" });
        await c.add(`cn=twin,${GROUPS}`, { objectClass: "groupOfNames", cn: "twin", member: [account.id, peer.userDn("bystander")] });
        await c.add(`cn=twin,ou=teams,${GROUPS}`, { objectClass: "groupOfNames", cn: "twin", member: [account.id, peer.userDn("bystander")] });
      });
      const error = await failure(connector.verify(account, ctx(peer.config, revoke("twin"))));
      expect(error).toMatchObject({ kind: "permanent", message: expect.stringContaining("names more than one group") });
      expect(await runPlan(account, peer.config, revoke(`cn=twin,ou=teams,${GROUPS}`))).toEqual(["remove-group-membership: done"]);
    });

    it("cannot empty a groupOfNames unless emptyGroupPlaceholder may stand in", async () => {
      const { subject, account } = await seed("last");
      await peer.setGroup("solo", [subject.userName]);
      const error = await failure(runPlan(account, peer.config, revoke("solo")));
      expect(error).toMatchObject({ kind: "permanent", message: expect.stringContaining("set emptyGroupPlaceholder") });
      const withPlaceholder = { ...peer.config, emptyGroupPlaceholder: `cn=nobody,${SUFFIX}` };
      expect(await runPlan(account, withPlaceholder, revoke("solo"))).toEqual(["remove-group-membership: done"]);
      expect(await peer.members("solo")).toEqual([`cn=nobody,${SUFFIX}`]);
      expect(await runPlan(account, withPlaceholder, revoke("solo"))).toEqual(["remove-group-membership: already-done"]);
    });
  });

  describe("finding the person", () => {
    it("escapes the subject's values: * finds nobody, and a name with parentheses and a star finds only itself", async () => {
      const odd = "o(brien)*@example.com";
      await peer.seedAccount({ userName: odd });
      const at = (userName: string): Subject => ({ connectionId: "t", id: randomUUID(), userName, emails: [] });
      expect(await connector.findAccount(at("*"), ctx(peer.config))).toBeNull();
      expect(await connector.findAccount(at("*)(uid=*"), ctx(peer.config))).toBeNull();
      expect(await connector.findAccount(at(odd), ctx(peer.config))).toEqual({ id: peer.userDn(odd) });
    });

    it("finds by another attribute through userFilter: the email, or the userName's local part", async () => {
      const { subject, account } = await seed("mailed");
      const byMail = { ...peer.config, userFilter: "(&(objectClass=inetOrgPerson)(mail={{email}}))" };
      expect(await connector.findAccount({ ...subject, userName: "someone-else" }, ctx(byMail))).toEqual(account);
      const byLocal = { ...peer.config, userFilter: "(cn={{localPart}}@example.com)" };
      expect(await connector.findAccount(subject, ctx(byLocal))).toEqual(account);
    });

    it("refuses a filter that matches more than one person", async () => {
      const { subject } = await seed("twice");
      const loose = { ...peer.config, userFilter: "(|(uid={{userName}})(uid=bystander))" };
      const error = await failure(connector.findAccount(subject, ctx(loose)));
      expect(error).toMatchObject({ kind: "permanent", message: expect.stringContaining("matches more than one entry") });
    });
  });

  describe("validate", () => {
    it("names a base DN that does not exist", async () => {
      const error = await failure(connector.validate(ctx({ ...peer.config, groupBase: `ou=nowhere,${SUFFIX}` })));
      expect(error).toMatchObject({ kind: "permanent", message: `config.groupBase "ou=nowhere,${SUFFIX}" does not exist, or the bind DN may not read it` });
    });

    it("names the member attribute the groups really use, when config.memberAttribute finds none", async () => {
      const error = await failure(connector.validate(ctx({ ...peer.config, memberAttribute: "uniqueMember" })));
      expect(error).toMatchObject({ kind: "permanent", message: `no group under "${GROUPS}" lists members in uniqueMember, but some use member: set memberAttribute: member` });
    });

    it("checks that the password policy enforces locks (pwdLockout TRUE), when told which one applies", async () => {
      const checked = { ...peer.config, passwordPolicyDn: POLICY_DN };
      await expect(connector.validate(ctx(checked))).resolves.toBeUndefined();
      const setLockout = (value: string) => peer.asRoot((c) => c.modify(POLICY_DN, new Change({ operation: "replace", modification: new Attribute({ type: "pwdLockout", values: [value] }) })));
      const { subject, account } = await seed("unenforced");
      await setLockout("FALSE");
      try {
        const error = await failure(connector.validate(ctx(checked)));
        expect(error).toMatchObject({ kind: "permanent", message: expect.stringContaining("a locked account could still bind") });
        await runPlan(account, peer.config);
        expect(await peer.canBind(subject.userName)).toBe(true); // what the check guards against
      } finally {
        await setLockout("TRUE");
      }
      expect(await peer.canBind(subject.userName)).toBe(false);
    });

    it("connects with StartTLS or ldaps:// to a server whose certificate chains to tlsCa", async () => {
      const ca = peer.certificatePem!;
      await expect(connector.validate(ctx({ ...peer.config, starttls: true, tlsCa: ca }))).resolves.toBeUndefined();
      await expect(connector.validate(ctx({ ...peer.config, url: peer.ldapsUrl!, tlsCa: ca }))).resolves.toBeUndefined();
    });

    it("refuses, permanently, a certificate it cannot trust", async () => {
      for (const config of [{ ...peer.config, starttls: true }, { ...peer.config, url: peer.ldapsUrl! }]) {
        const error = await failure(connector.validate(ctx(config)));
        expect(error).toMatchObject({ kind: "permanent", message: expect.stringContaining("set tlsCa") });
      }
    });
  });

  describe("failures", () => {
    it("a service account that may only read: verify answers, and each revoke step is auth", async () => {
      const { account } = await seed("read-only", ["vpn"]);
      await expect(connector.validate(ctx(peer.readOnlyConfig))).resolves.toBeUndefined();
      expect(await connector.verify(account, ctx(peer.readOnlyConfig))).toMatchObject({ revoked: false });
      const steps = [...connector.plans.deactivate, ...connector.plans.delete];
      for (const step of steps) {
        const intent: Intent = step.name === "delete-account" ? { kind: "delete" } : { kind: "deactivate" };
        const error = await failure(step.run(account, ctx(peer.readOnlyConfig, intent)));
        expect({ step: step.name, kind: error.kind }).toEqual({ step: step.name, kind: "auth" });
        expect(error.message).toContain("LDAP 50 insufficientAccessRights");
      }
    });

    it.each<[string, TargetErrorKind, () => Promise<{ url: string; close: () => Promise<void> }>, string]>([
      ["a port nobody listens on", "retryable", async () => { const s = await silentServer(); await s.close(); return s; }, "ECONNREFUSED"],
      ["a server that never answers", "retryable", silentServer, "Operation timed out"],
    ])("%s is %s", async (_, kind, start, says) => {
      const server = await start();
      try {
        const error = await failure(connector.validate(ctx({ ...peer.config, url: server.url, timeoutMs: 200 })));
        expect(error).toMatchObject({ kind, message: expect.stringContaining(says) });
      } finally {
        await server.close();
      }
    });

    it("closes the connection of a call that timed out", async () => {
      const server = await silentServer();
      try {
        await failure(connector.verify({ id: peer.userDn("bystander") }, ctx({ ...peer.config, url: server.url, timeoutMs: 200 })));
        await eventually(() => server.open() === 0);
      } finally {
        await server.close();
      }
    });

    it("stops at shutdown: the call ends retryable and its connection is closed", async () => {
      const server = await silentServer();
      try {
        const shutdown = new AbortController();
        const call = failure(connector.validate(ctx({ ...peer.config, url: server.url }, { kind: "deactivate" }, shutdown.signal)));
        await eventually(() => server.open() === 1);
        shutdown.abort();
        expect(await call).toMatchObject({ kind: "retryable", message: expect.stringContaining("shutting down") });
        await eventually(() => server.open() === 0);
        expect(await failure(connector.validate(ctx(peer.config, { kind: "deactivate" }, shutdown.signal)))).toMatchObject({ kind: "retryable" });
      } finally {
        await server.close();
      }
    });

    it("opens one connection per call and closes it, whether the call succeeds or fails", async () => {
      const proxy = await countingProxy(peer.url);
      try {
        const config = { ...peer.config, url: proxy.url };
        const { subject } = await seed("counted", ["vpn"]);
        const account = (await connector.findAccount(subject, ctx(config)))!;
        await connector.verify(account, ctx(config));
        await runPlan(account, config);
        await failure(connector.validate(ctx({ ...config, bindPassword: "wrong" })));
        await eventually(() => proxy.open() === 0);
        expect(proxy.opened()).toBe(5);
      } finally {
        await proxy.close();
      }
    });
  });
});

describe("the active-directory style against slapd with an AD-like schema", () => {
  let peer: SlapdPeer;
  beforeAll(async () => {
    peer = await startSlapd({ disableStyle: "active-directory" });
  }, 30_000);
  afterAll(async () => {
    await peer?.close();
  });
  const setUac = (dn: string, values: string[]) =>
    peer.asRoot((c) => c.modify(dn, new Change({ operation: values.length ? "replace" : "delete", modification: new Attribute({ type: "userAccountControl", values }) })));

  it("sets ACCOUNTDISABLE and keeps every other flag (66048 NORMAL_ACCOUNT|DONT_EXPIRE_PASSWORD → 66050)", async () => {
    const subject = await peer.seedAccount({ userName: person("ad") });
    const account = (await connector.findAccount(subject, ctx(peer.config)))!;
    await setUac(account.id, ["66048"]);
    expect(await connector.verify(account, ctx(peer.config))).toMatchObject({ revoked: false, evidence: expect.stringContaining("userAccountControl=66048 (ACCOUNTDISABLE clear)") });
    expect(await runPlan(account, peer.config)).toEqual(["remove-group-memberships: done", "disable-account: done"]);
    expect(await peer.entry(account.id)).toMatchObject({ userAccountControl: "66050" });
    expect(await runPlan(account, peer.config)).toEqual(["remove-group-memberships: already-done", "disable-account: already-done"]);
    expect(await connector.verify(account, ctx(peer.config))).toMatchObject({ revoked: true, evidence: expect.stringContaining("userAccountControl=66050 (ACCOUNTDISABLE set)") });
  });

  it("refuses to guess about an entry without userAccountControl", async () => {
    const subject = await peer.seedAccount({ userName: person("not-ad") });
    const account = (await connector.findAccount(subject, ctx(peer.config)))!;
    await setUac(account.id, []);
    expect(await failure(connector.verify(account, ctx(peer.config)))).toMatchObject({ kind: "permanent", message: expect.stringContaining("has no userAccountControl") });
    expect(await failure(connector.plans.deactivate[1]!.run(account, ctx(peer.config)))).toMatchObject({ kind: "permanent" });
  });

  it("finds the person by sAMAccountName from the userName's local part", async () => {
    const userName = person("sam");
    const subject = await peer.seedAccount({ userName });
    expect(await peer.entry(peer.userDn(userName))).toMatchObject({ sAMAccountName: userName.split("@")[0] });
    expect(await connector.findAccount(subject, ctx(peer.config))).toEqual({ id: `uid=${userName},${PEOPLE}` });
  });
});
