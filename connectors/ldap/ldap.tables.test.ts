/**
 * The ldap kind's rules that need no directory, table by table: LDAP outcomes → TargetError kinds,
 * RFC 4515 filter escaping and placeholders, config checks, userAccountControl arithmetic.
 */
import { InvalidCredentialsError, UnknownStatusCodeError } from "ldapts";
import { TargetError, type Subject, type TargetErrorKind } from "../../src/connector-kit.js";
import { configProblems, settingsOf, type LdapConfig } from "./config.js";
import { parseUac, uacDisabled, uacWithDisabled } from "./disable.js";
import { ldapError } from "./errors.js";
import { escapeFilterValue, userFilterFor } from "./filter.js";

const systemError = (code: string, message = code) => Object.assign(new Error(message), { code });

describe("LDAP outcomes as TargetErrors", () => {
  it.each<[string, number, TargetErrorKind]>([
    ["inappropriateAuthentication", 48, "auth"],
    ["invalidCredentials", 49, "auth"],
    ["insufficientAccessRights", 50, "auth"],
    ["timeLimitExceeded", 3, "retryable"],
    ["busy", 51, "retryable"],
    ["unavailable", 52, "retryable"],
    ["operationsError", 1, "permanent"],
    ["protocolError", 2, "permanent"],
    ["sizeLimitExceeded", 4, "permanent"],
    ["strongerAuthRequired", 8, "permanent"],
    ["adminLimitExceeded", 11, "permanent"],
    ["confidentialityRequired", 13, "permanent"],
    ["noSuchAttribute", 16, "permanent"],
    ["undefinedAttributeType", 17, "permanent"],
    ["constraintViolation", 19, "permanent"],
    ["invalidAttributeSyntax", 21, "permanent"],
    ["noSuchObject", 32, "permanent"],
    ["invalidDNSyntax", 34, "permanent"],
    ["unwillingToPerform", 53, "permanent"],
    ["objectClassViolation", 65, "permanent"],
    ["notAllowedOnNonLeaf", 66, "permanent"],
    ["other", 80, "permanent"],
    ["an unassigned code", 4096, "permanent"],
  ])("result %s (%i) is %s", (name, code, kind) => {
    const error = ldapError(new UnknownStatusCodeError(code, "server says why"), "modify \"cn=x\"");
    expect(error).toBeInstanceOf(TargetError);
    expect(error.kind).toBe(kind);
    expect(error.message).toContain(`modify "cn=x": LDAP ${code}`);
    expect(error.message).toContain("(server says why)");
    if (name !== "an unassigned code") expect(error.message).toContain(name);
  });

  it.each<[string, TargetErrorKind, Error, string]>([
    ["connection refused", "retryable", systemError("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:1"), "ECONNREFUSED"],
    ["connection reset", "retryable", systemError("ECONNRESET", "read ECONNRESET"), "ECONNRESET"],
    ["connect timed out (system)", "retryable", systemError("ETIMEDOUT", "connect ETIMEDOUT"), "ETIMEDOUT"],
    ["host unreachable", "retryable", systemError("EHOSTUNREACH"), "EHOSTUNREACH"],
    ["DNS failing for now", "retryable", systemError("EAI_AGAIN"), "EAI_AGAIN"],
    ["DNS not resolving the host", "retryable", systemError("ENOTFOUND", "getaddrinfo ENOTFOUND ldap.example"), "check config.url"],
    ["ldapts connect timeout", "retryable", new Error("Connection timeout"), "Connection timeout"],
    ["ldapts operation timeout", "retryable", new Error("SearchRequest: Operation timed out"), "Operation timed out"],
    ["ldapts connection lost", "retryable", new Error("Connection closed before message response was received. Message type: SearchRequest (0x63)"), "Connection closed"],
    ["a self-signed certificate", "permanent", systemError("DEPTH_ZERO_SELF_SIGNED_CERT", "self-signed certificate"), "set tlsCa"],
    ["an unknown CA", "permanent", systemError("UNABLE_TO_VERIFY_LEAF_SIGNATURE", "unable to verify the first certificate"), "set tlsCa"],
    ["a certificate for another name", "permanent", systemError("ERR_TLS_CERT_ALTNAME_INVALID", "Hostname/IP does not match"), "tlsServername"],
  ])("%s is %s", (_, kind, cause, says) => {
    const error = ldapError(cause, "bind as \"cn=svc\" to ldap://ldap.example");
    expect(error.kind).toBe(kind);
    expect(error.message).toContain(says);
    expect(error.detail.cause).toBe(cause);
  });

  it("passes a TargetError through as it is", () => {
    const original = new TargetError("permanent", "already classified");
    expect(ldapError(original, "anything")).toBe(original);
  });

  it("rethrows an error it does not recognise: a bug, not a target's answer", () => {
    const bug = new TypeError("x is not a function");
    expect(() => ldapError(bug, "search")).toThrow(bug);
  });

  it("says how to fix bad credentials without showing any password", () => {
    const error = ldapError(new InvalidCredentialsError(""), "bind as \"cn=svc\" to ldap://ldap.example");
    expect(error.message).toBe("bind as \"cn=svc\" to ldap://ldap.example: LDAP 49 invalidCredentials; check bindDn and bindPassword (Active Directory: the diagnostic's data code says why, e.g. 52e wrong password, 533 disabled, 775 locked)");
  });
});

describe("filter values are escaped per RFC 4515", () => {
  it.each([
    ["alice", "alice"],
    ["*", "\\2a"],
    ["a)(uid=*", "a\\29\\28uid=\\2a"],
    ["C:\\MyFile", "C:\\5cMyFile"],
    ["Parens R Us (for all your parenthetical needs)", "Parens R Us \\28for all your parenthetical needs\\29"],
    ["nul\0byte", "nul\\00byte"],
    ["Lučić", "Lučić"],
  ])("%j → %j", (value, escaped) => {
    expect(escapeFilterValue(value)).toBe(escaped);
  });

  const subject: Subject = {
    connectionId: "c", id: "s-1", userName: "alice.smith@example.com", externalId: "00u42", emails: ["alice@example.com", "a.smith@example.com"],
    enterprise: { employeeNumber: "1042" },
  };
  it.each([
    ["(uid={{userName}})", "(uid=alice.smith@example.com)"],
    ["(sAMAccountName={{localPart}})", "(sAMAccountName=alice.smith)"],
    ["(mail={{email}})", "(mail=alice@example.com)"],
    ["(&(objectClass=person)(employeeNumber={{employeeNumber}}))", "(&(objectClass=person)(employeeNumber=1042))"],
    ["(|(uid={{ userName }})(entryUUID={{externalId}}))", "(|(uid=alice.smith@example.com)(entryUUID=00u42))"],
  ])("userFilter %s for alice is %s", (template, filter) => {
    expect(userFilterFor(template, subject)).toBe(filter);
  });

  it("escapes a subject's values inside the template", () => {
    expect(userFilterFor("(uid={{userName}})", { ...subject, userName: "*)(objectClass=*" })).toBe("(uid=\\2a\\29\\28objectClass=\\2a)");
  });

  it("refuses a placeholder the subject has no value for, rather than finding no account", () => {
    expect(() => userFilterFor("(mail={{email}})", { ...subject, emails: [] })).toThrow(expect.objectContaining({ kind: "permanent", message: expect.stringContaining("has no email") }));
    expect(() => userFilterFor("(employeeNumber={{employeeNumber}})", { ...subject, enterprise: {} })).toThrow(expect.objectContaining({ kind: "permanent" }));
  });
});

describe("config checks", () => {
  const good: LdapConfig = { url: "ldaps://ldap.example.org:636", bindDn: "cn=scim-bridge,ou=services,dc=example,dc=org", bindPassword: "pw", userBase: "ou=people,dc=example,dc=org", groupBase: "ou=groups,dc=example,dc=org" };

  it("accepts a complete config, with every default", () => {
    expect(configProblems({ ...good })).toEqual([]);
    const s = settingsOf(good);
    expect(s).toMatchObject({ userFilter: "(uid={{userName}})", memberAttribute: "member", memberUidAttribute: "uid", groupNameAttribute: "cn", starttls: false, timeoutMs: 10_000 });
    expect(s.disable).toEqual({ style: "openldap-ppolicy", attribute: "pwdAccountLockedTime", value: "000001010000Z" });
    expect(s.tls).toEqual({ host: "ldap.example.org", servername: "ldap.example.org" });
  });

  it.each<[string, Partial<Record<keyof LdapConfig, unknown>>, string]>([
    ["a missing userBase", { userBase: undefined }, "config.userBase is required"],
    ["an http URL", { url: "http://ldap.example.org" }, "config.url must be ldap://host[:port] or ldaps://host[:port]"],
    ["a URL with a base DN in it", { url: "ldap://ldap.example.org/dc=example,dc=org" }, "only the scheme, host and port"],
    ["starttls on ldaps://", { starttls: true }, "config.starttls is for ldap:// URLs"],
    ["a bindDn that is not a DN", { bindDn: "scim-bridge" }, "config.bindDn must be a DN"],
    ["a userFilter without placeholders", { userFilter: "(uid=alice)" }, "must use a placeholder"],
    ["an unknown placeholder", { userFilter: "(uid={{login}})" }, "unknown placeholders {{login}}"],
    ["a filter with a parenthesis missing", { userFilter: "(&(uid={{userName}})" }, "balanced parentheses"],
    ["a filter without parentheses", { userFilter: "uid={{userName}}" }, "balanced parentheses"],
    ["a filter that does not parse", { userFilter: "(|uid={{userName}})" }, "not an RFC 4515 filter"],
    ["an unknown member attribute", { memberAttribute: "members" }, "config.memberAttribute must be member, uniqueMember or memberUid"],
    ["an unknown disable style", { disableStyle: "lock" }, "config.disableStyle must be"],
    ["the attribute style without its attribute", { disableStyle: "attribute", disableValue: "TRUE" }, "needs disableAttribute and disableValue"],
    ["an attribute without the attribute style", { disableAttribute: "nsAccountLock", disableValue: "TRUE" }, "only read with disableStyle attribute"],
    ["passwordPolicyDn for Active Directory", { disableStyle: "active-directory", passwordPolicyDn: "cn=default,ou=policies,dc=example,dc=org" }, "only read with disableStyle openldap-ppolicy"],
    ["a CA that is not PEM", { tlsCa: "MIIB..." }, "config.tlsCa must be PEM"],
    ["a timeout of 0", { timeoutMs: 0 }, "config.timeoutMs must be a number of milliseconds"],
    ["an attribute name with a space", { memberUidAttribute: "user id" }, "config.memberUidAttribute must be an attribute name"],
  ])("names %s and its fix", (_, change, problem) => {
    const problems = configProblems({ ...good, ...change });
    expect(problems).toEqual([expect.stringContaining(problem)]);
  });

  it("is a permanent failure when a connector call meets a bad config", () => {
    expect(() => settingsOf({ ...good, url: "http://ldap.example.org" })).toThrow(expect.objectContaining({ kind: "permanent", message: expect.stringContaining("config.url") }));
  });

  it("checks the server's certificate against the IP itself when the URL has no name", () => {
    expect(settingsOf({ ...good, url: "ldap://127.0.0.1:389", starttls: true }).tls).toEqual({ host: "127.0.0.1" });
  });
});

describe("userAccountControl arithmetic", () => {
  it.each([
    ["512", 512n, false, 514n],
    ["514", 514n, true, 514n],
    ["66048", 66048n, false, 66050n],
    ["66050", 66050n, true, 66050n],
    ["4260352", 4260352n, false, 4260354n],
    ["-2147483136", -2147483136n, false, -2147483134n],
    [" 544 ", 544n, false, 546n],
  ])("%j is %s: ACCOUNTDISABLE set %s; disabled it is %s, every other flag kept", (raw, uac, disabled, after) => {
    const parsed = parseUac(raw, "cn=x");
    expect(parsed).toBe(uac);
    expect(uacDisabled(parsed)).toBe(disabled);
    expect(uacWithDisabled(parsed)).toBe(after);
    expect(uacDisabled(uacWithDisabled(parsed))).toBe(true);
  });

  it.each([[undefined, "has no userAccountControl"], ["", "not an integer"], ["0x200", "not an integer"], ["512 flags", "not an integer"]])(
    "refuses %j: the connector never guesses a flag set",
    (raw, says) => {
      expect(() => parseUac(raw, "cn=x")).toThrow(expect.objectContaining({ kind: "permanent", message: expect.stringContaining(says) }));
    },
  );
});
