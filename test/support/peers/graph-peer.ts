/**
 * The `microsoft-graph` connector kind's conformance peer: the in-process Graph fake
 * (`graph-fake.ts`) with two groups to grant and revoke. No jest here: the bench reuses it.
 */
import type { Subject } from "../../../src/connector-kit.js";
import type { GraphConfig } from "../../../connectors/microsoft-graph/config.js";
import type { ConformancePeer } from "../conformance-peer.js";
import { startGraphFake, type GraphFake } from "./graph-fake.js";

export interface GraphPeer extends ConformancePeer<GraphConfig> {
  fake: GraphFake;
}

/** Entitlements are group ids; every seeded user also holds one app role assignment (the deactivate plan removes it). */
export async function graphPeer(options: { config?: Partial<GraphConfig> } = {}): Promise<GraphPeer> {
  const fake = await startGraphFake();
  const engineering = fake.createGroup("Engineering");
  const operations = fake.createGroup("Operations");
  const config: GraphConfig = { tenantId: fake.tenantId, clientId: fake.clientId, clientSecret: fake.clientSecret, authorityUrl: fake.authorityUrl, graphUrl: fake.graphUrl, ...options.config };
  return {
    fake,
    config,
    badCredentials: { ...config, clientSecret: `${fake.clientSecret}-revoked` },
    entitlement: engineering.id,
    otherEntitlement: operations.id,
    deletes: true,
    async seedAccount({ userName, entitlements = [] }) {
      const user = fake.createUser({ userPrincipalName: userName, mail: userName.toLowerCase() });
      for (const entitlement of entitlements) {
        if (!fake.groups.has(entitlement)) throw new Error(`the graph peer has no group ${entitlement}`);
        fake.addMember(entitlement, user.id);
      }
      fake.assignAppRole(user.id);
      const subject: Subject = { connectionId: "graph-peer", id: `subject-${user.id}`, userName, displayName: userName, emails: [userName.toLowerCase()] };
      return subject;
    },
    writes: async () => fake.writes(),
    throttleNext: async (seconds) => fake.throttleNext(seconds),
    close: () => fake.close(),
  };
}
