/**
 * The SaaS connector kinds with their vendor fakes, for the end-to-end test and the connector
 * bench: each kind's connector and a factory for its peer (a fake of the vendor's documented API).
 */
import type { Connector } from "../../../src/connector-kit.js";
import awsIam from "../../../connectors/aws-iam/index.js";
import github from "../../../connectors/github/index.js";
import googleWorkspace from "../../../connectors/google-workspace/index.js";
import microsoftGraph from "../../../connectors/microsoft-graph/index.js";
import slack from "../../../connectors/slack/index.js";
import type { ConformancePeer } from "../conformance-peer.js";
import { awsIamPeer } from "./aws-iam-peer.js";
import { githubPeer } from "./github-peer.js";
import { googlePeer } from "./google-peer.js";
import { graphPeer } from "./graph-peer.js";
import { slackPeer } from "./slack-peer.js";

export interface SaasKind {
  kind: string;
  connector: Connector;
  peer: () => Promise<ConformancePeer<unknown>>;
  /** What the fake is, for reports. */
  what: string;
}

export const SAAS_KINDS: readonly SaasKind[] = [
  { kind: "github", connector: github as Connector, peer: () => githubPeer() as Promise<ConformancePeer<unknown>>, what: "fake of the GitHub REST API (orgs, teams, SSO authorizations)" },
  { kind: "google-workspace", connector: googleWorkspace as Connector, peer: () => googlePeer() as Promise<ConformancePeer<unknown>>, what: "fake of the Admin SDK Directory API and Google's token endpoint" },
  { kind: "microsoft-graph", connector: microsoftGraph as Connector, peer: () => graphPeer() as Promise<ConformancePeer<unknown>>, what: "fake of Microsoft Graph v1.0 and the identity platform's token endpoint" },
  { kind: "aws-iam", connector: awsIam as Connector, peer: () => awsIamPeer() as Promise<ConformancePeer<unknown>>, what: "fake of the IAM Query API (SigV4 checked)" },
  { kind: "slack", connector: slack as Connector, peer: () => slackPeer() as Promise<ConformancePeer<unknown>>, what: "fake of Slack's SCIM and Web API" },
];
