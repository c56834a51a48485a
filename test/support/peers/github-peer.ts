/**
 * The `github` connector kind's conformance peer: the fake GitHub API (`github-fake.ts`) with an
 * org, two teams, and for each seeded person an org membership, two SSO credential
 * authorizations and a fine-grained PAT grant. No jest here: the connector bench reuses it.
 */
import type { Subject } from "../../../src/connector-kit.js";
import type { GithubConfig } from "../../../connectors/github/config.js";
import type { ConformancePeer } from "../conformance-peer.js";
import { startGithubFake, type GithubFake, type GithubFakeOptions } from "./github-fake.js";

export interface GithubPeer extends ConformancePeer<GithubConfig> {
  fake: GithubFake;
}

/** The GitHub login the peer gives a userName: its local part, as `loginFrom: userName-local-part` reads it. */
export const loginFor = (userName: string) => userName.split("@")[0]!;

export async function githubPeer(options: { fake?: GithubFakeOptions; config?: Partial<GithubConfig> } = {}): Promise<GithubPeer> {
  const fake = await startGithubFake(options.fake);
  fake.addTeam("engineering");
  fake.addTeam("operations");
  const config: GithubConfig = { baseUrl: fake.baseUrl, org: fake.org, token: fake.appToken, loginFrom: "userName-local-part", samlSso: true, fineGrainedTokens: true, ...options.config };
  return {
    fake,
    config,
    badCredentials: { ...config, token: "ghs_revoked0000000000000000000000000000" },
    entitlement: "engineering",
    otherEntitlement: "operations",
    deletes: true,
    async seedAccount({ userName, entitlements = [] }) {
      const login = loginFor(userName);
      fake.addMember(login);
      for (const team of entitlements) fake.addTeamMember(team, login);
      fake.addCredentialAuthorization(login, "personal access token");
      fake.addCredentialAuthorization(login, "SSH key");
      fake.addPatGrant(login);
      const subject: Subject = { connectionId: "github-peer", id: `subject-${login}`, userName, displayName: login, emails: [userName.toLowerCase()] };
      return subject;
    },
    writes: async () => fake.writes(),
    // GitHub's own secondary-limit style: 403 with retry-after
    throttleNext: async (seconds) => fake.throttleNext(seconds, "secondary"),
    close: () => fake.close(),
  };
}
