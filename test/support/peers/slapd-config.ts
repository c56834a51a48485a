/**
 * The text a test slapd runs from: slapd.conf (mdb, the ppolicy overlay, ACLs giving the
 * bridge's service account only what the ldap connector's README asks for), a small
 * Active-Directory-like schema, and the base tree.
 */

export const SUFFIX = "dc=example,dc=org";
export const ADMIN_DN = `cn=admin,${SUFFIX}`;
export const PEOPLE = `ou=people,${SUFFIX}`;
export const GROUPS = `ou=groups,${SUFFIX}`;
export const SERVICES = `ou=services,${SUFFIX}`;
export const POLICY_DN = `cn=default,ou=policies,${SUFFIX}`;
/** The bridge's service account: the least privilege the connector needs. */
export const BRIDGE_DN = `cn=scim-bridge,${SERVICES}`;
/** A service account that may read everything and write nothing. */
export const READER_DN = `cn=reader,${SERVICES}`;

/**
 * Active Directory's attributes the connector reads, with AD's OIDs, made searchable (AD's own
 * schema has no LDAP matching rules for them), and an auxiliary class to carry them.
 * OID arc 1.3.6.1.4.1.32473 is IANA's example enterprise number (RFC 5612).
 */
export const AD_LITE_SCHEMA = `
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl'
  EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName'
  EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.656 NAME 'userPrincipalName'
  EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.32473.1.1 NAME 'adLiteUser' AUXILIARY
  MAY ( userAccountControl $ sAMAccountName $ userPrincipalName ) )
`;

export interface SlapdConfOptions {
  dir: string;
  modulePath: string | null;
  rootPassword: string;
  tls?: { cert: string; key: string };
}

/** slapd.conf for one instance in `dir`. */
export function slapdConf(o: SlapdConfOptions): string {
  const people = `dn.children="${PEOPLE}"`;
  return `
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include ${o.dir}/ad-lite.schema
${o.modulePath ? `modulepath ${o.modulePath}\nmoduleload back_mdb\nmoduleload ppolicy` : ""}
pidfile ${o.dir}/slapd.pid
argsfile ${o.dir}/slapd.args
${o.tls ? `TLSCertificateFile ${o.tls.cert}\nTLSCertificateKeyFile ${o.tls.key}` : ""}

database mdb
maxsize 33554432
suffix "${SUFFIX}"
rootdn "${ADMIN_DN}"
rootpw ${o.rootPassword}
directory ${o.dir}/db
index objectClass eq
index uid,mail,cn,sAMAccountName,userPrincipalName eq
index member,uniqueMember,memberUid eq

overlay ppolicy
ppolicy_default "${POLICY_DN}"

access to attrs=userPassword
  by anonymous auth
  by * none
access to ${people} attrs=entry,pwdAccountLockedTime,userAccountControl,employeeType
  by dn.exact="${BRIDGE_DN}" write
  by users read
  by anonymous auth
access to dn.exact="${PEOPLE}" attrs=children
  by dn.exact="${BRIDGE_DN}" write
  by users read
access to dn.children="${GROUPS}" attrs=member,uniqueMember,memberUid
  by dn.exact="${BRIDGE_DN}" write
  by users read
access to *
  by users read
  by anonymous auth
`;
}

/** The base tree: the OUs, the password policy, and the two service accounts. */
export function baseEntries(passwords: { bridge: string; reader: string }): [string, Record<string, string | string[]>][] {
  return [
    [SUFFIX, { objectClass: ["dcObject", "organization"], o: "Example", dc: "example" }],
    [PEOPLE, { objectClass: "organizationalUnit", ou: "people" }],
    [GROUPS, { objectClass: "organizationalUnit", ou: "groups" }],
    [SERVICES, { objectClass: "organizationalUnit", ou: "services" }],
    [`ou=policies,${SUFFIX}`, { objectClass: "organizationalUnit", ou: "policies" }],
    // pwdLockout TRUE makes ppolicy enforce pwdAccountLockedTime; pwdMaxFailure 0 counts no failures,
    // so a test's wrong password never locks or writes anything.
    [POLICY_DN, { objectClass: ["applicationProcess", "pwdPolicy"], cn: "default", pwdAttribute: "userPassword", pwdLockout: "TRUE", pwdMaxFailure: "0" }],
    [BRIDGE_DN, { objectClass: ["applicationProcess", "simpleSecurityObject"], cn: "scim-bridge", userPassword: passwords.bridge }],
    [READER_DN, { objectClass: ["applicationProcess", "simpleSecurityObject"], cn: "reader", userPassword: passwords.reader }],
  ];
}
