/**
 * Disabling an account, by style, and reading whether it is:
 * - openldap-ppolicy: `pwdAccountLockedTime: 000001010000Z`, ppolicy's permanent lock; with the
 *   overlay enforcing it (pwdLockout TRUE) every bind as the account fails, right password or not.
 * - active-directory: the ACCOUNTDISABLE bit (0x2) of `userAccountControl`, other bits kept.
 * - attribute: `disableAttribute` replaced by `disableValue` (e.g. 389-DS `nsAccountLock: TRUE`).
 */
import { TargetError } from "../../src/connector-kit.js";
import { firstValue, values, type Ldap } from "./client.js";
import type { DisableSpec } from "./config.js";
import { LDAP } from "./errors.js";

/** userAccountControl's ACCOUNTDISABLE flag ([MS-ADTS] 2.2.16). */
export const UAC_ACCOUNTDISABLE = 0x2;

/**
 * A userAccountControl value as a 32-bit flag set, signed as AD's Integer syntax is (so a value
 * written back is one AD accepts); anything else is a permanent failure.
 */
export function parseUac(raw: string | undefined, dn: string): bigint {
  if (raw === undefined) throw new TargetError("permanent", `${dn} has no userAccountControl; it is not an Active Directory user, or the bind DN may not read the attribute`);
  if (!/^-?\d{1,11}$/.test(raw.trim())) throw new TargetError("permanent", `${dn} has userAccountControl ${JSON.stringify(raw)}, which is not an integer`);
  return BigInt.asIntN(32, BigInt(raw.trim()));
}

/** Whether ACCOUNTDISABLE is set. */
export const uacDisabled = (uac: bigint): boolean => (uac & BigInt(UAC_ACCOUNTDISABLE)) !== 0n;

/** The value with ACCOUNTDISABLE set and every other flag as it was (e.g. 512 → 514, 66048 → 66050). */
export const uacWithDisabled = (uac: bigint): bigint => uac | BigInt(UAC_ACCOUNTDISABLE);

export interface LockState {
  /** False when the entry does not exist. */
  exists: boolean;
  disabled: boolean;
  /** What was observed: `pwdAccountLockedTime=000001010000Z (locked)`. */
  shown: string;
  /** active-directory: the value read. */
  uac?: bigint;
}

const matches = (spec: DisableSpec, value: string) =>
  spec.style === "openldap-ppolicy" ? value === spec.value : spec.style === "attribute" ? value.toLowerCase() === spec.value.toLowerCase() : false;

/** Reads the account's disable attribute (read-only). */
export async function lockState(ldap: Ldap, dn: string): Promise<LockState> {
  const spec = ldap.settings.disable;
  const entry = await ldap.read(dn, [spec.attribute]);
  if (!entry) return { exists: false, disabled: false, shown: "noSuchObject (the entry is gone)" };
  if (spec.style === "active-directory") {
    const uac = parseUac(firstValue(entry, spec.attribute), dn);
    const disabled = uacDisabled(uac);
    return { exists: true, disabled, shown: `userAccountControl=${uac} (ACCOUNTDISABLE ${disabled ? "set" : "clear"})`, uac };
  }
  const found = values(entry, spec.attribute);
  const disabled = found.some((v) => matches(spec, v));
  const ppolicy = spec.style === "openldap-ppolicy";
  const state = found.length === 0 ? (ppolicy ? "not locked" : "not disabled") : disabled ? (ppolicy ? "locked" : "disabled") : ppolicy ? "not permanently locked" : "not disabled";
  const shown = `${found.length === 0 ? `no ${spec.attribute}` : `${spec.attribute}=${found.join("|")}`} (${state})`;
  return { exists: true, disabled, shown };
}

/** Disables the account; "already-done" when it already is, or when the entry is gone. */
export async function disableAccount(ldap: Ldap, dn: string): Promise<"done" | "already-done"> {
  const spec = ldap.settings.disable;
  const state = await lockState(ldap, dn);
  if (!state.exists || state.disabled) return "already-done";
  const value = spec.style === "active-directory" ? String(uacWithDisabled(state.uac!)) : spec.value;
  // replace, not delete+add: Active Directory and every tool that disables there replaces the whole value.
  const code = await ldap.modify(dn, [{ operation: "replace", attribute: spec.attribute, values: [value] }], [LDAP.noSuchObject]);
  return code === 0 ? "done" : "already-done";
}
