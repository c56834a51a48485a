import type { Connector } from "../src/connector-kit.js";
import github from "./github/index.js";
import http from "./http/index.js";
import ldap from "./ldap/index.js";
import postgres from "./postgres/index.js";
import scim from "./scim/index.js";

/**
 * The explicit list of built-in connector kinds (STYLE.md): each lives in connectors/<kind>/ and is
 * listed here; the registry refuses duplicate ids. App owners add their own with CONNECTORS_DIR
 * or CONNECTOR_MODULES.
 */
export const builtInConnectors: readonly Connector[] = [github as Connector, http as Connector, ldap as Connector, postgres as Connector, scim as Connector];
