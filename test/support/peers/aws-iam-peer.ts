/**
 * The `aws-iam` connector kind's conformance peer: the IAM Query API fake (`aws-iam-fake.ts`)
 * with two groups to grant and revoke. Seeded users hold one of every credential. No jest here.
 */
import type { Subject } from "../../../src/connector-kit.js";
import type { AwsIamConfig } from "../../../connectors/aws-iam/config.js";
import type { ConformancePeer } from "../conformance-peer.js";
import { startIamFake, type IamFake, type SeedUser } from "./aws-iam-fake.js";

export interface AwsIamPeer extends ConformancePeer<AwsIamConfig> {
  fake: IamFake;
}

/** What every seeded user holds besides the groups asked for: the whole §6.1 table. */
export const FULL_SEED: SeedUser = {
  accessKeys: 2, password: true, signingCertificates: 1, sshPublicKeys: 1, serviceSpecificCredentials: 1,
  virtualMfa: true, hardwareMfa: true, managedPolicies: ["ReadOnlyAccess"], inlinePolicies: ["s3-access"],
};

export async function awsIamPeer(options: { config?: Partial<AwsIamConfig> } = {}): Promise<AwsIamPeer> {
  const fake = await startIamFake();
  fake.createGroup("Engineering");
  fake.createGroup("Operations");
  const base = { region: fake.region, endpoint: fake.endpoint, ...options.config };
  let seeded = 0;
  return {
    fake,
    config: { ...base, ...fake.credentials },
    badCredentials: { ...base, accessKeyId: fake.credentials.accessKeyId, secretAccessKey: `${fake.credentials.secretAccessKey}x` },
    entitlement: "Engineering",
    otherEntitlement: "Operations",
    deletes: true,
    async seedAccount({ userName, entitlements = [] }) {
      const at = userName.lastIndexOf("@");
      const name = options.config?.userNameTemplate === "{userName}" ? userName : at > 0 ? userName.slice(0, at) : userName;
      fake.createUser(name, { ...FULL_SEED, groups: entitlements });
      const email = userName.includes("@") ? userName.toLowerCase() : `${userName.toLowerCase()}@example.com`;
      const subject: Subject = { connectionId: "aws-iam-peer", id: `subject-${++seeded}-${name}`, userName, displayName: userName, emails: [email] };
      return subject;
    },
    writes: async () => fake.writes(),
    noThrottleReason: "IAM throttles with HTTP 400 Throttling and sends no Retry-After (AWS common errors), so the kit's 429 + Retry-After case cannot hold; connectors/aws-iam/aws-iam.test.ts checks 400 Throttling → rate-limited",
    close: () => fake.close(),
  };
}
