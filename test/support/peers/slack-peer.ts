/**
 * The `slack` connector kind's conformance peer: the fake Slack org (`slack-fake.ts`) with two
 * user groups to grant and revoke, plus a bystander in each so removing the person never empties
 * a group (Slack refuses an empty user group). No jest here.
 */
import type { Subject } from "../../../src/connector-kit.js";
import type { SlackConfig } from "../../../connectors/slack/config.js";
import type { ConformancePeer } from "../conformance-peer.js";
import { startSlackFake, type SlackFake, type SlackFakeOptions } from "./slack-fake.js";

export interface SlackPeer extends ConformancePeer<SlackConfig> {
  fake: SlackFake;
}

/** `config` overrides connector fields (e.g. enterpriseGrid: false). Default: Grid with both teams listed. */
export async function slackPeer(options: { fake?: SlackFakeOptions; config?: Partial<SlackConfig> } = {}): Promise<SlackPeer> {
  const fake = await startSlackFake(options.fake);
  const bystander = fake.createUser({ userName: "bystander", email: "bystander@example.com" });
  const engineering = fake.createUsergroup("engineering", [bystander.id]);
  const operations = fake.createUsergroup("operations", [bystander.id]);
  const base = { scimBaseUrl: fake.scimBaseUrl, webApiBaseUrl: fake.webApiBaseUrl, enterpriseGrid: true, sessionTeamIds: fake.teams, idpProvisionsScim: false };
  return {
    fake,
    config: { ...base, scimToken: fake.scimToken, webToken: fake.webToken, ...options.config },
    badCredentials: { ...base, scimToken: `${fake.scimToken}-revoked`, webToken: `${fake.webToken}-revoked`, ...options.config },
    entitlement: engineering,
    otherEntitlement: operations,
    // Slack does not delete users: the delete plan deactivates, and the kit's delete case checks exactly that
    deletes: true,
    async seedAccount({ userName, entitlements = [] }) {
      const email = userName.includes("@") ? userName.toLowerCase() : `${userName.toLowerCase()}@example.com`;
      const user = fake.createUser({ userName, email });
      for (const group of entitlements) fake.addToUsergroup(group, user.id);
      const subject: Subject = { connectionId: "slack-peer", id: `subject-${user.id}`, userName, displayName: userName, emails: [email] };
      return subject;
    },
    writes: async () => fake.writes(),
    throttleNext: async (seconds) => fake.throttleNext(seconds),
    close: () => fake.close(),
  };
}
