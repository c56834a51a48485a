/**
 * The `google-workspace` kind's conformance peer: the Google fake (`google-fake.ts`) with two
 * groups to grant and revoke; seeded users have OAuth grants, app passwords and backup codes.
 * No jest here: the connector bench reuses it.
 */
import type { Subject } from "../../../src/connector-kit.js";
import type { GoogleWorkspaceConfig } from "../../../connectors/google-workspace/config.js";
import type { ConformancePeer } from "../conformance-peer.js";
import { startGoogleFake, type GoogleFake, type GoogleFakeOptions } from "./google-fake.js";

export interface GooglePeer extends ConformancePeer<GoogleWorkspaceConfig> {
  fake: GoogleFake;
}

export async function googlePeer(options: GoogleFakeOptions = {}): Promise<GooglePeer> {
  const fake = await startGoogleFake(options);
  const engineering = fake.createGroup("engineering@example.com");
  const operations = fake.createGroup("operations@example.com");
  const groups = new Map([[engineering.email, engineering.id], [operations.email, operations.id]]);
  const config: GoogleWorkspaceConfig = { clientEmail: fake.clientEmail, privateKey: fake.privateKey, adminEmail: fake.adminEmail, tokenUri: fake.tokenUri, baseUrl: fake.baseUrl };
  return {
    fake,
    config,
    badCredentials: { ...config, privateKey: fake.otherPrivateKey },
    entitlement: engineering.email,
    otherEntitlement: operations.email,
    deletes: true,
    async seedAccount({ userName, entitlements = [] }) {
      const email = userName.includes("@") ? userName.toLowerCase() : `${userName.toLowerCase()}@example.com`;
      const user = fake.createUser(email, { tokens: 2, asps: 1, codes: 10 });
      for (const e of entitlements) {
        const id = groups.get(e);
        if (!id) throw new Error(`the google peer has no group ${e}`);
        fake.addMember(id, user.id);
      }
      const subject: Subject = { connectionId: "google-peer", id: `subject-${user.id}`, userName, displayName: userName, emails: [email] };
      return subject;
    },
    writes: async () => fake.writes(),
    throttleNext: async (seconds) => fake.throttleNext(seconds),
    close: () => fake.close(),
  };
}
