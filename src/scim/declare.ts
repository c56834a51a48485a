import SCIMMY from "scimmy";

/**
 * SCIMMY keeps its resource declarations in module-level state. Everything that reads schema
 * definitions (filters, dialects, handlers) calls this first, so the enterprise extension is
 * always attached the same way, exactly once per process.
 */
let declared = false;

export const ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

export function declareSchemas(): typeof SCIMMY {
  if (!declared) {
    declared = true;
    if (!SCIMMY.Resources.declared(SCIMMY.Resources.User)) {
      SCIMMY.Resources.declare(SCIMMY.Resources.User.extend(SCIMMY.Schemas.EnterpriseUser, false));
    }
    if (!SCIMMY.Resources.declared(SCIMMY.Resources.Group)) SCIMMY.Resources.declare(SCIMMY.Resources.Group);
  }
  return SCIMMY;
}
