/**
 * The `microsoft-graph` connector kind: Entra ID users through Microsoft Graph v1.0, app-only
 * (client credentials). See README.md for the plans, probes, permissions and limits.
 */
import type { Connector } from "../../src/connector-kit.js";
import { configFields, configProblems, type GraphConfig } from "./config.js";
import { deleteUser, disableUser, findAccount, removeAppRoleAssignments, removeGroupMembership, removeGroupMemberships, revokeSignInSessions, validate, verify } from "./steps.js";

export type { GraphConfig } from "./config.js";

export default {
  id: "microsoft-graph",
  configFields,
  checkConfig: configProblems,
  registrationWarnings: (config) =>
    config.matchAttribute === "mail" ? ["matchAttribute mail: Entra does not force mail to be unique; two users with one address make findAccount refuse (permanent error)"] : [],
  validate,
  findAccount,
  plans: {
    // sessions first, then entitlements, then the account
    deactivate: [revokeSignInSessions, removeGroupMemberships, removeAppRoleAssignments, disableUser],
    delete: [revokeSignInSessions, removeGroupMemberships, removeAppRoleAssignments, deleteUser],
    "revoke-entitlement": [removeGroupMembership],
  },
  verify,
} satisfies Connector<GraphConfig>;
