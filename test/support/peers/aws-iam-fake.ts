/**
 * A small fake of the AWS IAM Query API for the aws-iam connector's tests, written from the IAM
 * API reference (https://docs.aws.amazon.com/IAM/latest/APIReference/, one page per action, cited
 * per route below as API_<Action>.html) on node:http: `POST /` with a form-encoded
 * `Action=…&Version=2010-05-08` body, XML answers `<ActionResponse><ActionResult>…` and errors
 * `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`.
 *
 * Auth: SigV4 (AWS4-HMAC-SHA256) checked in full against the known key pairs: an unknown key id
 * answers 403 InvalidClientTokenId, a wrong signature 403 SignatureDoesNotMatch, no signature 403
 * MissingAuthenticationToken. Throttling as IAM does it: 400 `Throttling` "Rate exceeded" with no
 * Retry-After (AWS common errors). Eventual consistency (AWS-EC): `staleReads(n)` serves the next
 * n reads from the state as it is now, whatever is written meanwhile. No jest here.
 */
import { createHash, createHmac, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export const ACCOUNT_ID = "123456789012";
const NS = "https://iam.amazonaws.com/doc/2010-05-08/";

export interface FakeUser {
  UserName: string;
  UserId: string;
  Arn: string;
  Path: string;
  CreateDate: string;
  accessKeys: Map<string, { Status: "Active" | "Inactive"; CreateDate: string }>;
  loginProfile: { CreateDate: string } | null;
  signingCertificates: Set<string>;
  sshPublicKeys: Set<string>;
  serviceSpecificCredentials: Map<string, string>;
  /** Serial numbers of the MFA devices enabled for the user. */
  mfa: Set<string>;
  groups: Set<string>;
  attached: Map<string, string>;
  inline: Map<string, string>;
}

interface State {
  users: Map<string, FakeUser>;
  groups: Map<string, { GroupName: string; GroupId: string; Arn: string; Path: string; CreateDate: string }>;
  virtualMfa: Set<string>;
}

export interface SeedUser {
  accessKeys?: number;
  password?: boolean;
  signingCertificates?: number;
  sshPublicKeys?: number;
  serviceSpecificCredentials?: number;
  virtualMfa?: boolean;
  hardwareMfa?: boolean;
  groups?: string[];
  managedPolicies?: string[];
  inlinePolicies?: string[];
}

export interface SeenCall {
  action: string;
  params: Record<string, string>;
  status: number;
  code?: string;
}

export interface IamFake {
  endpoint: string;
  region: string;
  /** A key pair the fake accepts. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  createGroup(name: string): void;
  /** Seeds a user directly (no write counted). */
  createUser(name: string, seed?: SeedUser): FakeUser;
  /** The current state of a user (bypassing stale reads), or undefined. */
  user(name: string): FakeUser | undefined;
  virtualMfaDevices(): string[];
  /** Mutating actions received (after authentication), whatever their answer. */
  writes(): number;
  calls: SeenCall[];
  /** IAM's throttling: every request for the next `seconds` answers 400 Throttling, without Retry-After. */
  throttleNext(seconds: number): void;
  /** The next `n` read actions answer from the state as it is now (replication lag). */
  staleReads(n: number): void;
  /** These actions answer 403 AccessDenied (a principal without the permission). */
  deny(actions: string[]): void;
  close(): Promise<void>;
}

class IamError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly type: "Sender" | "Receiver" = "Sender") {
    super(message);
  }
}
const noSuch = (what: string) => new IamError(404, "NoSuchEntity", `The ${what} cannot be found.`);

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
type X = string | number | boolean | X[] | { [k: string]: X };
function xml(name: string, value: X): string {
  if (Array.isArray(value)) return `<${name}>${value.map((v) => xml("member", v)).join("")}</${name}>`;
  if (typeof value === "object") return `<${name}>${Object.entries(value).map(([k, v]) => xml(k, v)).join("")}</${name}>`;
  return `<${name}>${esc(String(value))}</${name}>`;
}

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();

/** SigV4 as documented in "Create a signed AWS API request" (IAM user guide, reference_sigv-create-signed-request.html). */
function checkSignature(req: IncomingMessage, body: Buffer, secrets: Map<string, string>): void {
  const auth = req.headers.authorization;
  if (!auth) throw new IamError(403, "MissingAuthenticationToken", "Request is missing Authentication Token");
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) throw new IamError(400, "IncompleteSignature", "Authorization header is not a valid AWS4-HMAC-SHA256 signature");
  const [, keyId, day, region, service, signedHeaders, signature] = m as unknown as [string, string, string, string, string, string, string];
  const secret = secrets.get(keyId);
  if (secret === undefined) throw new IamError(403, "InvalidClientTokenId", "The security token included in the request is invalid.");
  const amzDate = String(req.headers["x-amz-date"] ?? "");
  const url = new URL(req.url ?? "/", "http://fake");
  const query = [...url.searchParams].map(([k, v]) => [encodeURIComponent(k), encodeURIComponent(v)] as const).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`).join("&");
  const names = signedHeaders.split(";");
  const headers = names.map((n) => `${n}:${String(req.headers[n] ?? "").trim().replace(/\s+/g, " ")}\n`).join("");
  const canonical = [req.method, url.pathname, query, headers, signedHeaders, sha256(body)].join("\n");
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonical)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), service), "aws4_request");
  if (createHmac("sha256", key).update(toSign).digest("hex") !== signature) {
    throw new IamError(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.");
  }
}

const READS = /^(Get|List)/;
const id = (prefix: string, n = 16) => `${prefix}${randomBytes(n).toString("hex").toUpperCase().slice(0, n)}`;
const now = () => new Date().toISOString();

export async function startIamFake(): Promise<IamFake> {
  const credentials = { accessKeyId: id("AKIA"), secretAccessKey: randomBytes(30).toString("base64") };
  const secrets = new Map([[credentials.accessKeyId, credentials.secretAccessKey]]);
  let state: State = { users: new Map(), groups: new Map(), virtualMfa: new Set() };
  let stale: { state: State; left: number } | null = null;
  let throttledUntil = 0;
  let writes = 0;
  const denied = new Set<string>();
  const calls: SeenCall[] = [];

  const userOf = (s: State, name: string | undefined) => {
    const u = name ? s.users.get(name) : undefined;
    if (!u) throw noSuch(`user with name ${name ?? ""}`);
    return u;
  };
  const page = (items: X[], key: string) => ({ [key]: items, IsTruncated: false });

  /** One handler per action; `s` is the state the action sees (stale for a lagging read). */
  const actions: Record<string, (p: Record<string, string>, s: State) => Record<string, X> | null> = {
    // API_GetUser.html: User {Path, UserName, UserId, Arn, CreateDate}; NoSuchEntity 404
    GetUser: (p, s) => {
      const u = userOf(s, p.UserName);
      return { User: { Path: u.Path, UserName: u.UserName, UserId: u.UserId, Arn: u.Arn, CreateDate: u.CreateDate } };
    },
    // API_ListAccessKeys.html: AccessKeyMetadata.member {UserName, AccessKeyId, Status, CreateDate}, IsTruncated, Marker
    ListAccessKeys: (p, s) => {
      const u = userOf(s, p.UserName);
      return page([...u.accessKeys].map(([k, v]) => ({ UserName: u.UserName, AccessKeyId: k, Status: v.Status, CreateDate: v.CreateDate })), "AccessKeyMetadata");
    },
    // API_DeleteAccessKey.html: NoSuchEntity when the key or user is unknown
    DeleteAccessKey: (p, s) => {
      if (!userOf(s, p.UserName).accessKeys.delete(p.AccessKeyId ?? "")) throw noSuch(`Access Key with id ${p.AccessKeyId ?? ""}`);
      return null;
    },
    // API_GetLoginProfile.html: NoSuchEntity "if the user does not exist or does not have a password"
    GetLoginProfile: (p, s) => {
      const u = userOf(s, p.UserName);
      if (!u.loginProfile) throw noSuch(`Login Profile for User ${u.UserName}`);
      return { LoginProfile: { UserName: u.UserName, CreateDate: u.loginProfile.CreateDate, PasswordResetRequired: false } };
    },
    // API_DeleteLoginProfile.html
    DeleteLoginProfile: (p, s) => {
      const u = userOf(s, p.UserName);
      if (!u.loginProfile) throw noSuch(`Login Profile for User ${u.UserName}`);
      u.loginProfile = null;
      return null;
    },
    // API_ListSigningCertificates.html: Certificates.member {UserName, CertificateId, CertificateBody, Status, UploadDate}
    ListSigningCertificates: (p, s) => {
      const u = userOf(s, p.UserName);
      return page([...u.signingCertificates].map((c) => ({ UserName: u.UserName, CertificateId: c, CertificateBody: "-----BEGIN CERTIFICATE-----", Status: "Active", UploadDate: u.CreateDate })), "Certificates");
    },
    // API_DeleteSigningCertificate.html
    DeleteSigningCertificate: (p, s) => {
      if (!userOf(s, p.UserName).signingCertificates.delete(p.CertificateId ?? "")) throw noSuch(`Signing Certificate with id ${p.CertificateId ?? ""}`);
      return null;
    },
    // API_ListSSHPublicKeys.html: SSHPublicKeys.member {UserName, SSHPublicKeyId, Status, UploadDate}
    ListSSHPublicKeys: (p, s) => {
      const u = userOf(s, p.UserName);
      return page([...u.sshPublicKeys].map((k) => ({ UserName: u.UserName, SSHPublicKeyId: k, Status: "Active", UploadDate: u.CreateDate })), "SSHPublicKeys");
    },
    // API_DeleteSSHPublicKey.html
    DeleteSSHPublicKey: (p, s) => {
      if (!userOf(s, p.UserName).sshPublicKeys.delete(p.SSHPublicKeyId ?? "")) throw noSuch(`Public Key with id ${p.SSHPublicKeyId ?? ""}`);
      return null;
    },
    // API_ListServiceSpecificCredentials.html: ServiceSpecificCredentials.member {…}; no Marker in the 2010-05-08 shape used here
    ListServiceSpecificCredentials: (p, s) => {
      const u = userOf(s, p.UserName);
      return { ServiceSpecificCredentials: [...u.serviceSpecificCredentials].map(([cid, service]) => ({ UserName: u.UserName, Status: "Active", ServiceUserName: `${u.UserName}-at-${ACCOUNT_ID}`, CreateDate: u.CreateDate, ServiceSpecificCredentialId: cid, ServiceName: service })) };
    },
    // API_DeleteServiceSpecificCredential.html
    DeleteServiceSpecificCredential: (p, s) => {
      if (!userOf(s, p.UserName).serviceSpecificCredentials.delete(p.ServiceSpecificCredentialId ?? "")) throw noSuch(`Service Specific Credential with id ${p.ServiceSpecificCredentialId ?? ""}`);
      return null;
    },
    // API_ListMFADevices.html: MFADevices.member {UserName, SerialNumber, EnableDate}
    ListMFADevices: (p, s) => {
      const u = userOf(s, p.UserName);
      return page([...u.mfa].map((serial) => ({ UserName: u.UserName, SerialNumber: serial, EnableDate: u.CreateDate })), "MFADevices");
    },
    // API_DeactivateMFADevice.html: NoSuchEntity when the device is not enabled for the user
    DeactivateMFADevice: (p, s) => {
      if (!userOf(s, p.UserName).mfa.delete(p.SerialNumber ?? "")) throw noSuch(`MFA Device with serial number ${p.SerialNumber ?? ""}`);
      return null;
    },
    // API_DeleteVirtualMFADevice.html: DeleteConflict while still enabled for a user, NoSuchEntity when unknown
    DeleteVirtualMFADevice: (p, s) => {
      const serial = p.SerialNumber ?? "";
      if (!s.virtualMfa.has(serial)) throw noSuch(`VirtualMFADevice with serial number ${serial}`);
      if ([...s.users.values()].some((u) => u.mfa.has(serial))) throw new IamError(409, "DeleteConflict", "MFA Device is in use by a user; deactivate it first.");
      s.virtualMfa.delete(serial);
      return null;
    },
    // API_ListGroupsForUser.html: Groups.member {Path, GroupName, GroupId, Arn, CreateDate}
    ListGroupsForUser: (p, s) => {
      const u = userOf(s, p.UserName);
      return page([...u.groups].map((g) => s.groups.get(g)!).map((g) => ({ ...g })), "Groups");
    },
    // API_RemoveUserFromGroup.html: NoSuchEntity for an unknown user or group
    RemoveUserFromGroup: (p, s) => {
      const u = userOf(s, p.UserName);
      if (!s.groups.has(p.GroupName ?? "")) throw noSuch(`group ${p.GroupName ?? ""}`);
      u.groups.delete(p.GroupName ?? "");
      return null;
    },
    // API_ListAttachedUserPolicies.html: AttachedPolicies.member {PolicyName, PolicyArn}
    ListAttachedUserPolicies: (p, s) => page([...userOf(s, p.UserName).attached].map(([arn, name]) => ({ PolicyName: name, PolicyArn: arn })), "AttachedPolicies"),
    // API_DetachUserPolicy.html: NoSuchEntity when the policy is not attached
    DetachUserPolicy: (p, s) => {
      if (!userOf(s, p.UserName).attached.delete(p.PolicyArn ?? "")) throw noSuch(`Policy ${p.PolicyArn ?? ""} attached to user`);
      return null;
    },
    // API_ListUserPolicies.html: PolicyNames.member (strings)
    ListUserPolicies: (p, s) => page([...userOf(s, p.UserName).inline.keys()], "PolicyNames"),
    // API_GetUserPolicy.html: PolicyDocument is URL-encoded JSON (RFC 3986)
    GetUserPolicy: (p, s) => {
      const u = userOf(s, p.UserName);
      const doc = u.inline.get(p.PolicyName ?? "");
      if (doc === undefined) throw noSuch(`user policy with name ${p.PolicyName ?? ""}`);
      return { UserName: u.UserName, PolicyName: p.PolicyName ?? "", PolicyDocument: encodeURIComponent(doc) };
    },
    // API_PutUserPolicy.html: adds or replaces; MalformedPolicyDocument 400 for a non-JSON document
    PutUserPolicy: (p, s) => {
      const u = userOf(s, p.UserName);
      try {
        JSON.parse(p.PolicyDocument ?? "");
      } catch {
        throw new IamError(400, "MalformedPolicyDocument", "Syntax errors in policy.");
      }
      u.inline.set(p.PolicyName ?? "", p.PolicyDocument ?? "");
      return null;
    },
    // API_DeleteUserPolicy.html
    DeleteUserPolicy: (p, s) => {
      if (!userOf(s, p.UserName).inline.delete(p.PolicyName ?? "")) throw noSuch(`user policy with name ${p.PolicyName ?? ""}`);
      return null;
    },
    // API_DeleteUser.html: DeleteConflict 409 while anything is attached (password, keys, certs, SSH keys, credentials, MFA, policies, groups)
    DeleteUser: (p, s) => {
      const u = userOf(s, p.UserName);
      const held = u.accessKeys.size + u.signingCertificates.size + u.sshPublicKeys.size + u.serviceSpecificCredentials.size + u.mfa.size + u.groups.size + u.attached.size + u.inline.size + (u.loginProfile ? 1 : 0);
      if (held > 0) throw new IamError(409, "DeleteConflict", "Cannot delete entity, must remove attached items first.");
      s.users.delete(u.UserName);
      return null;
    },
  };

  const send = (res: ServerResponse, status: number, body: string) => {
    res.writeHead(status, { "content-type": "text/xml", "x-amzn-requestid": randomBytes(16).toString("hex") });
    res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
  };
  const sendError = (res: ServerResponse, e: IamError) =>
    send(res, e.status, `<ErrorResponse xmlns="${NS}"><Error><Type>${e.type}</Type><Code>${e.code}</Code><Message>${esc(e.message)}</Message></Error><RequestId>${randomBytes(16).toString("hex")}</RequestId></ErrorResponse>`);

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const params = Object.fromEntries(new URLSearchParams(body.toString("utf8")));
      const action = params.Action ?? "";
      const seen: SeenCall = { action, params: Object.fromEntries(Object.entries(params).filter(([k]) => k !== "Action" && k !== "Version")), status: 200 };
      calls.push(seen);
      try {
        if (req.method !== "POST" || req.url !== "/") throw new IamError(400, "InvalidAction", "Only POST / is served (Query API).");
        // Throttling answers before authentication, as a rate limiter in front of the service does.
        if (Date.now() < throttledUntil) throw new IamError(400, "Throttling", "Rate exceeded");
        checkSignature(req, body, secrets);
        if (params.Version !== "2010-05-08") throw new IamError(400, "InvalidParameterValue", "Version must be 2010-05-08");
        const handler = actions[action];
        if (!handler) throw new IamError(400, "InvalidAction", `Could not find operation ${action} for version 2010-05-08`);
        const read = READS.test(action);
        if (!read) writes++;
        if (denied.has(action)) throw new IamError(403, "AccessDenied", `User is not authorized to perform: iam:${action}`);
        let s = state;
        if (read && stale && stale.left > 0) {
          s = stale.state;
          if (--stale.left === 0) stale = null;
        }
        const result = handler(params, s);
        const meta = `<ResponseMetadata><RequestId>${randomBytes(16).toString("hex")}</RequestId></ResponseMetadata>`;
        send(res, 200, `<${action}Response xmlns="${NS}">${result ? xml(`${action}Result`, result) : ""}${meta}</${action}Response>`);
      } catch (error) {
        const e = error instanceof IamError ? error : new IamError(500, "ServiceFailure", "The request processing has failed because of an unknown error.", "Receiver");
        seen.status = e.status;
        seen.code = e.code;
        sendError(res, e);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    region: "us-east-1",
    credentials,
    calls,
    createGroup(name) {
      state.groups.set(name, { GroupName: name, GroupId: id("AGPA", 17), Arn: `arn:aws:iam::${ACCOUNT_ID}:group/${name}`, Path: "/", CreateDate: now() });
    },
    createUser(name, seed = {}) {
      const n = (count = 0, make: (i: number) => string) => Array.from({ length: count }, (_, i) => make(i));
      const user: FakeUser = {
        UserName: name, UserId: id("AIDA", 17), Arn: `arn:aws:iam::${ACCOUNT_ID}:user/${name}`, Path: "/", CreateDate: now(),
        accessKeys: new Map(n(seed.accessKeys, () => id("AKIA")).map((k) => [k, { Status: "Active" as const, CreateDate: now() }])),
        loginProfile: seed.password ? { CreateDate: now() } : null,
        signingCertificates: new Set(n(seed.signingCertificates, () => id("", 32))),
        sshPublicKeys: new Set(n(seed.sshPublicKeys, () => id("APKA"))),
        serviceSpecificCredentials: new Map(n(seed.serviceSpecificCredentials, () => id("ACCA", 17)).map((c) => [c, "codecommit.amazonaws.com"])),
        mfa: new Set(),
        groups: new Set(),
        attached: new Map((seed.managedPolicies ?? []).map((p) => [`arn:aws:iam::aws:policy/${p}`, p])),
        inline: new Map((seed.inlinePolicies ?? []).map((p) => [p, JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] })])),
      };
      if (seed.virtualMfa) {
        const serial = `arn:aws:iam::${ACCOUNT_ID}:mfa/${name}`;
        state.virtualMfa.add(serial);
        user.mfa.add(serial);
      }
      if (seed.hardwareMfa) user.mfa.add(id("GAHT", 8));
      for (const g of seed.groups ?? []) {
        if (!state.groups.has(g)) throw new Error(`the IAM fake has no group ${g}`);
        user.groups.add(g);
      }
      state.users.set(name, user);
      return user;
    },
    user: (name) => state.users.get(name),
    virtualMfaDevices: () => [...state.virtualMfa],
    writes: () => writes,
    throttleNext(seconds) {
      throttledUntil = Date.now() + seconds * 1000;
    },
    staleReads(n) {
      stale = { state: structuredClone(state), left: n };
    },
    deny(list) {
      for (const a of list) denied.add(a);
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
