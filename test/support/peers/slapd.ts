/**
 * A real OpenLDAP server (Debian's slapd) for the ldap connector kind: its own process on free
 * 127.0.0.1 ports, in a fresh temp dir (slapd.conf via -f, mdb, the ppolicy overlay), with the
 * base tree loaded. `close()` stops it and removes the dir. No jest here: the bench reuses it.
 *
 * Seeded people live in ou=people, each with a known password (so a test can show a lock really
 * refuses the bind) and a member of "staff" plus the entitlements asked for; every group also
 * lists a bystander, so removing a person never empties it.
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Attribute, Change, Client, InvalidCredentialsError, NoSuchObjectError, type Entry } from "ldapts";
import type { Subject } from "../../../src/connector-kit.js";
import type { DisableStyle, LdapConfig, MemberAttribute } from "../../../connectors/ldap/config.js";
import type { ConformancePeer, SeedInput } from "../conformance-peer.js";
import { ADMIN_DN, AD_LITE_SCHEMA, BRIDGE_DN, GROUPS, PEOPLE, READER_DN, baseEntries, slapdConf } from "./slapd-config.js";

export { ADMIN_DN, BRIDGE_DN, GROUPS, PEOPLE, POLICY_DN, READER_DN, SUFFIX } from "./slapd-config.js";

const SLAPD = process.env.SLAPD ?? "/usr/sbin/slapd";
const OPENSSL = process.env.OPENSSL ?? "openssl";
const MODULE_PATHS = ["/usr/lib/ldap", "/usr/lib/openldap", "/usr/lib64/openldap", "/usr/libexec/openldap"];
const READY_TIMEOUT_MS = 10_000;

export interface SlapdPeerOptions {
  /** The style the seeded people and the config use (Default: "openldap-ppolicy"). */
  disableStyle?: DisableStyle;
  /** How the groups list members (Default: "member", groupOfNames). */
  memberAttribute?: MemberAttribute;
  /** Also listen on ldaps:// and offer StartTLS, with a fresh self-signed certificate for 127.0.0.1. */
  tls?: boolean;
}

export interface SlapdPeer extends ConformancePeer<LdapConfig> {
  entitlement: string;
  otherEntitlement: string;
  /** ldap://127.0.0.1:port */
  url: string;
  /** ldaps://127.0.0.1:port and the certificate's PEM, with `tls`. */
  ldapsUrl?: string;
  certificatePem?: string;
  /** The config with a service account that may read everything and write nothing. */
  readOnlyConfig: LdapConfig;
  userDn(userName: string): string;
  groupDn(cn: string): string;
  /** Whether `userName` can bind with the password the peer seeded (false: the server refuses it). */
  canBind(userName: string): Promise<boolean>;
  /** The entry as the root DN sees it (user attributes and pwdAccountLockedTime), or null. */
  entry(dn: string): Promise<Entry | null>;
  /** The values the group lists as members. */
  members(cn: string): Promise<string[]>;
  /** A group listing exactly `userNames` (creating or resetting it). */
  setGroup(cn: string, userNames: string[]): Promise<void>;
  /** Runs `fn` with a client bound as the root DN. */
  asRoot<T>(fn: (client: Client) => Promise<T>): Promise<T>;
}

/** RFC 4514 escaping of an attribute value in a DN. */
export function escapeDnValue(value: string): string {
  return value
    .replace(/[\\,+"<>;=]/g, (c) => `\\${c}`)
    .replace(/^([ #])/, "\\$1")
    .replace(/ $/, "\\ ");
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

const isNoSuchObject = (error: unknown) => error instanceof NoSuchObjectError;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const secret = () => randomBytes(12).toString("hex");

async function withClient<T>(url: string, dn: string, password: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ url, timeout: 5_000, connectTimeout: 1_000 });
  try {
    await client.bind(dn, password);
    return await fn(client);
  } finally {
    await client.unbind().catch(() => {});
  }
}

interface Running {
  child: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
}

function startProcess(conf: string, urls: string[]): Running {
  const child = spawn(SLAPD, ["-f", conf, "-h", urls.join(" "), "-d", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (chunk: Buffer) => { output = (output + chunk.toString()).slice(-4_000); };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.once("error", (error) => { output += String(error); resolve(-1); });
  });
  return { child, exited, output: () => output };
}

/** Polls a root bind until slapd answers; the process exiting first is a failure with its output. */
async function untilReady(running: Running, url: string, rootPassword: string): Promise<"ready" | "port-taken"> {
  let exited = false;
  void running.exited.then(() => { exited = true; });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited) {
      if (/Address already in use/.test(running.output())) return "port-taken";
      throw new Error(`slapd exited before accepting a bind:\n${running.output()}`);
    }
    try {
      await withClient(url, ADMIN_DN, rootPassword, async () => {});
      return "ready";
    } catch {
      await sleep(15);
    }
  }
  running.child.kill("SIGKILL");
  throw new Error(`slapd did not accept a bind within ${READY_TIMEOUT_MS} ms:\n${running.output()}`);
}

async function stopProcess(running: Running): Promise<void> {
  if (running.child.exitCode !== null || running.child.signalCode !== null) return;
  running.child.kill("SIGTERM");
  const timer = setTimeout(() => running.child.kill("SIGKILL"), 3_000);
  await running.exited;
  clearTimeout(timer);
}

/** Starts slapd with the base tree loaded; fails saying how to install it when it is missing. */
export async function startSlapd(options: SlapdPeerOptions = {}): Promise<SlapdPeer> {
  if (!existsSync(SLAPD)) throw new Error(`slapd is not installed (looked for ${SLAPD}; set SLAPD to another path): apt-get install -y slapd ldap-utils`);
  const disableStyle = options.disableStyle ?? "openldap-ppolicy";
  const memberAttribute = options.memberAttribute ?? "member";
  const dir = await mkdtemp(join(tmpdir(), "scim-bridge-slapd-"));
  const rootPassword = secret();
  const passwords = { bridge: secret(), reader: secret() };
  let running: Running | undefined;
  const killOnExit = () => running?.child.kill("SIGKILL");
  process.once("exit", killOnExit);
  try {
    await mkdir(join(dir, "db"));
    await writeFile(join(dir, "ad-lite.schema"), AD_LITE_SCHEMA);
    let tls: { cert: string; key: string } | undefined;
    if (options.tls) {
      tls = { cert: join(dir, "cert.pem"), key: join(dir, "key.pem") };
      await promisify(execFile)(OPENSSL, [
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", tls.key, "-out", tls.cert,
      ]).catch((error: { code?: unknown; message?: string }) => {
        throw new Error(error.code === "ENOENT" ? "the slapd peer's tls option makes a certificate with openssl, which is not installed: apt-get install -y openssl" : `openssl could not make a certificate: ${error.message}`);
      });
    }
    const modulePath = MODULE_PATHS.find((p) => existsSync(join(p, "back_mdb.so"))) ?? null;
    const conf = join(dir, "slapd.conf");
    await writeFile(conf, slapdConf({ dir, modulePath, rootPassword, ...(tls ? { tls } : {}) }));

    let url = "";
    let ldapsUrl: string | undefined;
    for (let attempt = 1; ; attempt++) {
      url = `ldap://127.0.0.1:${await freePort()}`;
      ldapsUrl = tls ? `ldaps://127.0.0.1:${await freePort()}` : undefined;
      running = startProcess(conf, [`${url}/`, ...(ldapsUrl ? [`${ldapsUrl}/`] : [])]);
      if ((await untilReady(running, url, rootPassword)) === "ready") break;
      if (attempt === 3) throw new Error(`slapd found no free port in 3 attempts:\n${running.output()}`);
    }
    const proc = running;
    const asRoot = <T>(fn: (c: Client) => Promise<T>) => withClient(url, ADMIN_DN, rootPassword, fn);

    const userDn = (userName: string) => `uid=${escapeDnValue(userName)},${PEOPLE}`;
    const groupDn = (cn: string) => `cn=${escapeDnValue(cn)},${GROUPS}`;
    const memberValue = (userName: string) => (memberAttribute === "memberUid" ? userName : userDn(userName));
    const userPasswords = new Map<string, string>();
    let gidNumber = 5000;

    const addUser = async (client: Client, userName: string) => {
      const password = secret();
      const localPart = userName.includes("@") ? userName.slice(0, userName.lastIndexOf("@")) : userName;
      await client.add(userDn(userName), {
        objectClass: ["inetOrgPerson", ...(disableStyle === "active-directory" ? ["adLiteUser"] : [])],
        uid: userName, cn: userName, sn: "Seeded", mail: userName, userPassword: password,
        ...(disableStyle === "active-directory" ? { userAccountControl: "512", sAMAccountName: localPart, userPrincipalName: userName } : {}),
      });
      userPasswords.set(userName, password);
    };
    const groupEntry = (cn: string, values: string[]): Record<string, string | string[]> => {
      if (memberAttribute === "memberUid") return { objectClass: "posixGroup", cn, gidNumber: String(gidNumber++), ...(values.length > 0 ? { memberUid: values } : {}) };
      return { objectClass: memberAttribute === "uniqueMember" ? "groupOfUniqueNames" : "groupOfNames", cn, [memberAttribute]: values };
    };
    /** Adds the person to the group, creating it (with the bystander) when missing. */
    const grant = async (client: Client, cn: string, userName: string) => {
      const value = memberValue(userName);
      try {
        await client.modify(groupDn(cn), new Change({ operation: "add", modification: new Attribute({ type: memberAttribute, values: [value] }) }));
      } catch (error) {
        if (!isNoSuchObject(error)) throw error;
        await client.add(groupDn(cn), groupEntry(cn, [memberValue("bystander"), value]));
      }
    };

    await asRoot(async (client) => {
      for (const [dn, attributes] of baseEntries(passwords)) await client.add(dn, attributes);
      await addUser(client, "bystander");
    });

    const config: LdapConfig = {
      url,
      bindDn: BRIDGE_DN,
      bindPassword: passwords.bridge,
      userBase: PEOPLE,
      groupBase: GROUPS,
      ...(disableStyle === "active-directory" ? { userFilter: "(&(objectClass=adLiteUser)(sAMAccountName={{localPart}}))" } : {}),
      ...(memberAttribute !== "member" ? { memberAttribute } : {}),
      ...(disableStyle !== "openldap-ppolicy" ? { disableStyle } : {}),
      ...(disableStyle === "attribute" ? { disableAttribute: "employeeType", disableValue: "disabled" } : {}),
      timeoutMs: 5_000,
    };

    return {
      config,
      badCredentials: { ...config, bindPassword: `not-${passwords.bridge}` },
      readOnlyConfig: { ...config, bindDn: READER_DN, bindPassword: passwords.reader },
      entitlement: "vpn",
      otherEntitlement: "wiki",
      noThrottleReason: "LDAP has no 429: a directory under load answers busy (51) or unavailable (52), which the connector classifies as retryable",
      url,
      ...(ldapsUrl ? { ldapsUrl } : {}),
      ...(tls ? { certificatePem: await readFile(tls.cert, "utf8") } : {}),
      userDn,
      groupDn,
      asRoot,

      async seedAccount(input: SeedInput): Promise<Subject> {
        await asRoot(async (client) => {
          await addUser(client, input.userName);
          for (const cn of ["staff", ...(input.entitlements ?? [])]) await grant(client, cn, input.userName);
        });
        return { connectionId: "slapd", id: randomUUID(), userName: input.userName, emails: [input.userName] };
      },

      async canBind(userName) {
        const password = userPasswords.get(userName);
        if (password === undefined) throw new Error(`${userName} was not seeded by this peer`);
        try {
          await withClient(url, userDn(userName), password, async () => {});
          return true;
        } catch (error) {
          if (error instanceof InvalidCredentialsError) return false;
          throw error;
        }
      },

      entry: (dn) =>
        asRoot(async (client) => {
          try {
            return (await client.search(dn, { scope: "base", attributes: ["*", "pwdAccountLockedTime"] })).searchEntries[0] ?? null;
          } catch (error) {
            if (isNoSuchObject(error)) return null;
            throw error;
          }
        }),

      members: (cn) =>
        asRoot(async (client) => {
          const entry = (await client.search(groupDn(cn), { scope: "base", attributes: [memberAttribute] })).searchEntries[0];
          const v = entry?.[memberAttribute];
          return v === undefined ? [] : (Array.isArray(v) ? v : [v]).map(String);
        }),

      setGroup: (cn, userNames) =>
        asRoot(async (client) => {
          await client.del(groupDn(cn)).catch((error: unknown) => { if (!isNoSuchObject(error)) throw error; });
          await client.add(groupDn(cn), groupEntry(cn, userNames.map(memberValue)));
        }),

      /** Everything the connector could change: people and groups, user attributes and the ppolicy lock. */
      writes: () =>
        asRoot(async (client) => {
          const lines: string[] = [];
          for (const base of [PEOPLE, GROUPS]) {
            const { searchEntries } = await client.search(base, { scope: "sub", attributes: ["*", "pwdAccountLockedTime"] });
            for (const e of searchEntries) {
              const attrs = Object.keys(e).filter((k) => k !== "dn" && [e[k]].flat().length > 0).sort().map((k) => `${k}=${[e[k]].flat().map(String).sort().join("|")}`);
              lines.push(`${e.dn}: ${attrs.join(", ")}`);
            }
          }
          return lines.sort();
        }),

      async close() {
        try {
          await stopProcess(proc);
        } finally {
          process.removeListener("exit", killOnExit);
          await rm(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    if (running) await stopProcess(running);
    process.removeListener("exit", killOnExit);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** The same peer under the name the end-to-end suite imports (`ldapPeer()`). */
export const ldapPeer = startSlapd;
