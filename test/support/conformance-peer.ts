/**
 * What the connector conformance kit (`conformance.ts`) needs from the system a connector kind
 * talks to: a real or independent peer (a PostgreSQL server, slapd, a SCIM server that is not the
 * bridge's own code, a fake REST target), set up by the kind's test. No jest here: the connector
 * bench uses the same peers.
 */
import type { Subject } from "../../src/connector-kit.js";

export interface SeedInput {
  /** The person's userName in the bridge; the peer makes an account the connector's findAccount finds. */
  userName: string;
  /** Target-side entitlements to grant the account (e.g. group names), all of them revocable by the kind. */
  entitlements?: string[];
}

export interface ConformancePeer<C> {
  /** Reaches the peer with valid credentials. */
  config: C;
  /** The same peer with credentials it refuses (HTTP 401/403 or the protocol's equivalent). */
  badCredentials: C;
  /**
   * Creates a person with a live account in the peer (active, with a session or token where the
   * kind revokes those, and the entitlements asked for). Returns the subject as the bridge would
   * hand it to the connector.
   */
  seedAccount(input: SeedInput): Promise<Subject>;
  /**
   * A value that changes whenever the peer receives a write: a counter of mutating requests the
   * peer served, or a snapshot of all state the connector could change. Compared with toEqual.
   */
  writes(): Promise<unknown>;
  /** An entitlement `seedAccount` can grant and the kind revokes; absent when the kind has no entitlements. */
  entitlement?: string;
  /** A second one, to check that revoking one entitlement leaves the other. */
  otherEntitlement?: string;
  /** Whether the kind's delete plan removes the account (the kit then checks the delete intent too). Default: true. */
  deletes?: boolean;
  /** Makes the peer answer the next request with 429 and `Retry-After: seconds`. */
  throttleNext?(retryAfterSeconds: number): Promise<void>;
  /** Why there is no throttleNext (the kit prints it when it skips the 429 case), e.g. "LDAP has no 429". */
  noThrottleReason?: string;
  close(): Promise<void>;
}
