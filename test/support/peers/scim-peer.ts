/**
 * The `scim` connector kind's conformance peer: an independent SCIM server (`scim-server.ts`)
 * with two groups to grant and revoke. No jest here: the connector bench reuses it.
 */
import type { Subject } from "../../../src/connector-kit.js";
import type { ScimConfig } from "../../../connectors/scim/config.js";
import type { ConformancePeer } from "../conformance-peer.js";
import { startScimServer, type ScimServer, type ScimServerOptions } from "./scim-server.js";

export interface ScimPeer extends ConformancePeer<ScimConfig> {
  server: ScimServer;
}

/**
 * Starts a SCIM server and returns it as a conformance peer. `config` overrides connector config
 * fields (e.g. `deactivateWith`); entitlements are group ids, or names with `groupEntitlements: displayName`.
 */
export async function scimPeer(options: { server?: ScimServerOptions; config?: Partial<ScimConfig> } = {}): Promise<ScimPeer> {
  const server = await startScimServer(options.server);
  const byName = options.config?.groupEntitlements === "displayName";
  const engineering = server.createGroup("Engineering");
  const operations = server.createGroup("Operations");
  const entitlementOf = (group: Record<string, unknown>) => String(byName ? group.displayName : group.id);
  const groupIds = new Map([[entitlementOf(engineering), String(engineering.id)], [entitlementOf(operations), String(operations.id)]]);
  let seeded = 0;

  return {
    server,
    config: { baseUrl: server.baseUrl, token: server.token, ...options.config },
    badCredentials: { baseUrl: server.baseUrl, token: `${server.token}-revoked`, ...options.config },
    entitlement: entitlementOf(engineering),
    otherEntitlement: entitlementOf(operations),
    deletes: true,
    async seedAccount({ userName, entitlements = [] }) {
      const externalId = `ext-${++seeded}-${userName}`;
      const email = userName.includes("@") ? userName.toLowerCase() : `${userName.toLowerCase()}@example.com`;
      const user = server.createUser({ userName, externalId, emails: [email], displayName: userName });
      for (const entitlement of entitlements) {
        const groupId = groupIds.get(entitlement);
        if (!groupId) throw new Error(`the scim peer has no group ${entitlement}; it has ${[...groupIds.keys()].join(", ")}`);
        server.addMember(groupId, String(user.id));
      }
      const subject: Subject = { connectionId: "scim-peer", id: `subject-${String(user.id)}`, userName, externalId, displayName: userName, emails: [email] };
      return subject;
    },
    writes: async () => server.writes(),
    throttleNext: async (seconds) => server.throttleNext(seconds),
    close: () => server.close(),
  };
}
