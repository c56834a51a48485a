import type { Connector } from "../src/connector-kit.js";
import awsIam from "./aws-iam/index.js";
import github from "./github/index.js";
import googleWorkspace from "./google-workspace/index.js";
import http from "./http/index.js";
import ldap from "./ldap/index.js";
import microsoftGraph from "./microsoft-graph/index.js";
import postgres from "./postgres/index.js";
import scim from "./scim/index.js";
import slack from "./slack/index.js";

/**
 * The explicit list of built-in connector kinds (STYLE.md): each lives in connectors/<kind>/ and is
 * listed here; the registry refuses duplicate ids. App owners add their own with CONNECTORS_DIR
 * or CONNECTOR_MODULES.
 */
export const builtInConnectors: readonly Connector[] = [
  awsIam as Connector, github as Connector, googleWorkspace as Connector, http as Connector, ldap as Connector,
  microsoftGraph as Connector, postgres as Connector, scim as Connector, slack as Connector,
];
