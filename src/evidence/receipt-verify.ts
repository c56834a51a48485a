/**
 * A receipt's format and its offline verification: compact JWS + JWKS → what the receipt says, or
 * where it broke. Pure (no storage, no network): the CLI, the console's tests and anyone holding a
 * receipt file and the bridge's `/.well-known/jwks.json` can run it.
 *
 * A receipt is a compact JWS (RFC 7515 §7.1), alg EdDSA (Ed25519), whose protected header is
 * exactly `{"alg":"EdDSA","kid":<key thumbprint>,"typ":"scim-bridge-receipt+jws","payloadSha256":<digest>}`
 * — `payloadSha256` is the base64url SHA-256 of the payload's bytes — and whose payload is the
 * JSON of a `ReceiptPayload`. Any JOSE library verifies it with the JWKS; this module also says
 * which part was altered. The header's digest and the fixed header form make that possible: a
 * receipt whose signature matches its payload under the header the bridge would have written had
 * its header altered; one whose header is intact but records another digest had its payload
 * altered; one whose header and payload agree had its signature altered (or was signed by another key).
 */
import { createHash } from "node:crypto";
import { compactVerify, importJWK, type CryptoKey, type JWK } from "jose";

/** The `typ` of a receipt's header. */
export const RECEIPT_TYP = "scim-bridge-receipt+jws";

/** A receipt's protected header, in the order it is serialised. */
export interface ReceiptHeader {
  alg: "EdDSA";
  kid: string;
  typ: typeof RECEIPT_TYP;
  /** base64url SHA-256 of the payload's bytes. */
  payloadSha256: string;
}

/** How a step's effect is known: a probe observed the access gone, or only the target's answer vouches for it. */
export type StepQuality = "observed" | "acknowledged";

export interface ReceiptStep {
  name: string;
  outcome: "done" | "already-done";
  /**
   * `observed`: the step is observable and the task's last probe observed the access gone.
   * `acknowledged`: the target answered the call but no probe showed its effect (a step no API
   * can show, or a task closed by a person's resolution rather than by a probe).
   */
  quality: StepQuality;
  at: string;
}

export interface ReceiptTarget {
  id: string;
  name: string;
  kind: string;
  /** What the task was for: `{kind}`, or `{kind: "revoke-entitlement", entitlement}`. */
  intent: { kind: string; entitlement?: string };
  /** `verified`: a probe observed it; `escalated`: closed by `resolution`; `cancelled`: a dry-run target (`dryRun`), nothing written. */
  state: "verified" | "escalated" | "cancelled";
  dryRun?: true;
  /** The subject's account in the target as the task resolved it; `found: false` is observed absence. */
  account: { found: true; id: string } | { found: false } | null;
  steps: ReceiptStep[];
  /** The last probe: what it observed and when. */
  evidence: { revoked: boolean; observation: string; at: string } | null;
  /** Set when a person closed the escalation. */
  resolution?: { by: string; at: string; note: string };
  /** Why it was escalated, or what a dry run would have done. */
  reason?: string;
}

/** What a receipt says (JWT-like claims: `iss`, `iat` in seconds). */
export interface ReceiptPayload {
  /** The bridge's public URL. */
  iss: string;
  iat: number;
  receiptId: string;
  /** The event: an operation for one subject. `completedAt` is when its last task was verified or resolved. */
  operation: { id: string; kind: "deactivate" | "delete" | "revoke-entitlement"; requestedAt: string; completedAt: string; groupId?: string; extendedAt?: string };
  connection: { id: string; name: string };
  subject: { id: string; userName: string; externalId: string | null };
  targets: ReceiptTarget[];
  /**
   * The audit log's head when the receipt was issued: a signed checkpoint of the chain, so
   * `scim-bridge audit verify --pin <seq>:<hash>` catches a log rewritten after it (absent: empty log).
   */
  audit?: { seq: number; hash: string };
}

/** Where verification broke: the JWS as a whole, one of its three segments, the key, or the receipt's content. */
export type ReceiptPart = "jws" | "header" | "payload" | "signature" | "key" | "receipt";

export type VerifyResult = { ok: true; payload: ReceiptPayload; kid: string } | { ok: false; part: ReceiptPart; problem: string };

/** base64url SHA-256 of bytes. */
export const sha256Base64url = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("base64url");

/** The header the bridge writes for a payload signed with key `kid`. */
export const receiptHeader = (kid: string, payload: Uint8Array): ReceiptHeader => ({ alg: "EdDSA", kid, typ: RECEIPT_TYP, payloadSha256: sha256Base64url(payload) });

const SEGMENTS = ["header", "payload", "signature"] as const;
const BASE64URL_CHAR = /[^A-Za-z0-9_-]/;
const fail = (part: ReceiptPart, problem: string): VerifyResult => ({ ok: false, part, problem });
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Splits the text into three canonical base64url segments, or says what is wrong and where. */
function segmentsOf(text: string): { segments: string[]; bytes: Buffer[] } | VerifyResult {
  if (text === "") return fail("jws", "the receipt is empty");
  const segments = text.split(".");
  if (segments.length !== 3) return fail("jws", `not a compact JWS: it has ${segments.length} segment(s) separated by ".", a receipt has 3 (header.payload.signature)`);
  const bytes: Buffer[] = [];
  let offset = 0;
  for (const [i, segment] of segments.entries()) {
    const name = `the ${SEGMENTS[i]} (segment ${i + 1})`;
    const part = SEGMENTS[i]!;
    if (segment === "") return fail(part, `${name} is empty`);
    const bad = BASE64URL_CHAR.exec(segment);
    if (bad) return fail(part, `${name} has a character that is not base64url at byte ${offset + bad.index} of the receipt`);
    const decoded = Buffer.from(segment, "base64url");
    if (segment.length % 4 === 1 || decoded.toString("base64url") !== segment) {
      return fail(part, `${name} is not canonical base64url: its length or last character was altered`);
    }
    bytes.push(decoded);
    offset += segment.length + 1;
  }
  return { segments, bytes };
}

/** The header's kid and digest when it is exactly the form the bridge writes, else the problem. */
function headerOf(bytes: Buffer): { kid: string; payloadSha256: string } | { problem: string } {
  let text: string;
  let parsed: unknown;
  try {
    text = utf8.decode(bytes);
    parsed = JSON.parse(text);
  } catch {
    return { problem: "is not JSON" };
  }
  const h = parsed as Partial<Record<keyof ReceiptHeader, unknown>> | null;
  if (typeof h !== "object" || h === null || Array.isArray(h)) return { problem: "is not a JSON object" };
  if (h.alg !== "EdDSA") return { problem: `names alg ${JSON.stringify(h.alg)}, not EdDSA` };
  if (h.typ !== RECEIPT_TYP) return { problem: `names typ ${JSON.stringify(h.typ)}, not ${RECEIPT_TYP}` };
  if (typeof h.kid !== "string" || h.kid === "") return { problem: "names no kid" };
  if (typeof h.payloadSha256 !== "string" || !/^[A-Za-z0-9_-]{43}$/.test(h.payloadSha256)) return { problem: "records no payloadSha256 digest" };
  const canonical = JSON.stringify({ alg: "EdDSA", kid: h.kid, typ: RECEIPT_TYP, payloadSha256: h.payloadSha256 });
  if (text !== canonical) return { problem: "is not in the exact form the bridge writes (extra members, order or spacing)" };
  return { kid: h.kid, payloadSha256: h.payloadSha256 };
}

/** The JWKS's Ed25519 signing keys, imported; other keys are ignored. */
async function keysOf(jwks: { keys: JWK[] }): Promise<{ kid: string; key: CryptoKey }[] | string> {
  if (typeof jwks !== "object" || jwks === null || !Array.isArray(jwks.keys)) return "the JWKS is not a JSON object with a keys array";
  const keys: { kid: string; key: CryptoKey }[] = [];
  for (const jwk of jwks.keys) {
    if (typeof jwk !== "object" || jwk === null || jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || typeof jwk.kid !== "string" || typeof jwk.x !== "string") continue;
    if ((jwk.use !== undefined && jwk.use !== "sig") || (jwk.alg !== undefined && jwk.alg !== "EdDSA")) continue;
    try {
      const key = await importJWK({ kty: jwk.kty, crv: jwk.crv, x: jwk.x }, "EdDSA");
      if (!(key instanceof Uint8Array)) keys.push({ kid: jwk.kid, key });
    } catch {
      // a malformed key cannot have signed anything: skip it
    }
  }
  return keys;
}

const signatureMatches = async (header: string, payload: string, signature: string, key: CryptoKey): Promise<boolean> => {
  try {
    await compactVerify(`${header}.${payload}.${signature}`, key, { algorithms: ["EdDSA"] });
    return true;
  } catch {
    return false;
  }
};

const encode = (value: unknown) => Buffer.from(JSON.stringify(value), "utf8").toString("base64url");

/**
 * Verifies a receipt offline. `jws` is the file's text: the compact JWS, optionally followed by one
 * line break (nothing else: any other changed byte fails). `jwks` is the bridge's
 * `/.well-known/jwks.json` (retired keys included). On failure, `part` and `problem` say where.
 */
export async function verifyReceipt(jws: string, jwks: { keys: JWK[] }): Promise<VerifyResult> {
  if (typeof jws !== "string") return fail("jws", "the receipt is not text");
  const text = jws.endsWith("\r\n") ? jws.slice(0, -2) : jws.endsWith("\n") ? jws.slice(0, -1) : jws;
  const split = segmentsOf(text);
  if ("ok" in split) return split;
  const [headerSeg, payloadSeg, signatureSeg] = split.segments as [string, string, string];
  const keys = await keysOf(jwks);
  if (typeof keys === "string") return fail("key", keys);
  const header = headerOf(split.bytes[0]!);
  if ("kid" in header) {
    const key = keys.find((k) => k.kid === header.kid);
    if (key && (await signatureMatches(headerSeg, payloadSeg, signatureSeg, key.key))) return contentOf(split.bytes[1]!, header.kid);
  }
  // It does not verify as it stands: find which part was altered.
  for (const key of keys) {
    const written = encode(receiptHeader(key.kid, split.bytes[1]!));
    if (written !== headerSeg && (await signatureMatches(written, payloadSeg, signatureSeg, key.key))) {
      const what = "problem" in header ? header.problem : header.kid !== key.kid ? `names key ${header.kid}, not ${key.kid}` : "records another payload digest";
      return fail("header", `the header (segment 1) was altered: it ${what}; the signature matches the payload under the header the bridge wrote (key ${key.kid})`);
    }
  }
  if ("problem" in header) return fail("header", `the header (segment 1) ${header.problem}`);
  if (!keys.some((k) => k.kid === header.kid)) {
    const held = keys.map((k) => k.kid).join(", ") || "no Ed25519 signing key";
    return fail("key", `the receipt was signed with key ${header.kid}, which the JWKS does not hold (it holds ${held}): verify it with the JWKS of the bridge that issued it`);
  }
  if (sha256Base64url(split.bytes[1]!) !== header.payloadSha256) {
    return fail("payload", `the payload (segment 2) was altered: its SHA-256 differs from the digest recorded in the signed header${jsonNote(split.bytes[1]!)}`);
  }
  return fail("signature", `the signature (segment 3) does not match the header and payload: the signature was altered, or the receipt was not signed by key ${header.kid}`);
}

/** A hint for an altered payload: whether it is still JSON. */
function jsonNote(bytes: Buffer): string {
  try {
    JSON.parse(utf8.decode(bytes));
    return " (it is still JSON, with some value changed)";
  } catch (error) {
    return ` (it is no longer JSON: ${(error as Error).message})`;
  }
}

/** The signature is valid: the payload must be a receipt. */
function contentOf(bytes: Buffer, kid: string): VerifyResult {
  let payload: unknown;
  try {
    payload = JSON.parse(utf8.decode(bytes));
  } catch {
    return fail("receipt", "the signature is valid but the payload is not JSON");
  }
  const problems = receiptProblems(payload);
  if (problems.length > 0) return fail("receipt", `the signature is valid but the payload is not a receipt: ${problems.join("; ")}`);
  return { ok: true, payload: payload as ReceiptPayload, kid };
}

type Check = (value: unknown) => boolean;
const str: Check = (v) => typeof v === "string";
const strOrNull: Check = (v) => v === null || typeof v === "string";
const oneOf = (...values: string[]): Check => (v) => typeof v === "string" && values.includes(v);

/** What is missing or mistyped in a receipt payload; empty when it is one. */
export function receiptProblems(value: unknown): string[] {
  const problems: string[] = [];
  const at = (path: string): unknown => pick(value, path);
  const need = (path: string, ok: Check, what: string, base: (p: string) => unknown = at) => {
    if (!ok(base(path))) problems.push(`${path} ${base(path) === undefined ? "is missing" : `is not ${what}`}`);
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) return ["the payload is not a JSON object"];
  need("iss", str, "a string");
  need("iat", (v) => typeof v === "number", "a number");
  need("receiptId", str, "a string");
  need("operation.id", str, "a string");
  need("operation.kind", oneOf("deactivate", "delete", "revoke-entitlement"), "an operation kind");
  need("operation.requestedAt", str, "a time");
  need("operation.completedAt", str, "a time");
  need("connection.id", str, "a string");
  need("connection.name", str, "a string");
  need("subject.id", str, "a string");
  need("subject.userName", str, "a string");
  need("subject.externalId", strOrNull, "a string or null");
  const targets = at("targets");
  if (!Array.isArray(targets) || targets.length === 0) {
    problems.push(`targets ${targets === undefined ? "is missing" : "is not a non-empty list"}`);
    return problems;
  }
  for (const [i, target] of targets.entries()) {
    const t = (path: string) => pick(target, path);
    const needT = (path: string, ok: Check, what: string) => need(`targets.${i}.${path}`, ok, what, () => t(path));
    needT("name", str, "a string");
    needT("kind", str, "a string");
    needT("state", oneOf("verified", "escalated", "cancelled"), "verified, escalated or cancelled");
    needT("steps", Array.isArray, "a list");
    const steps = t("steps");
    if (Array.isArray(steps)) {
      for (const [j, step] of steps.entries()) {
        need(`targets.${i}.steps.${j}.name`, str, "a string", () => pick(step, "name"));
        need(`targets.${i}.steps.${j}.quality`, oneOf("observed", "acknowledged"), "observed or acknowledged", () => pick(step, "quality"));
      }
    }
    if (t("evidence") !== null) needT("evidence.observation", str, "a string");
    if (t("state") === "escalated") needT("resolution.note", str, "a person's resolution");
  }
  return problems;
}

const pick = (value: unknown, path: string): unknown =>
  path.split(".").reduce<unknown>((v, k) => (typeof v === "object" && v !== null ? (v as Record<string, unknown>)[k] : undefined), value);
