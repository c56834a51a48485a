/**
 * The explicit list of built-in connector kinds (STYLE.md). Empty until the connector kit lands
 * (issue "Connectors"): each kind will live in connectors/<kind>/ and be listed here.
 */
export const builtInConnectorIds: readonly string[] = [];
