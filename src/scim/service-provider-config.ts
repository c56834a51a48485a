import SCIMMY from "scimmy";

export interface ScimLimits {
  maxResults: number;
  bulkMaxOperations: number;
  maxBodyBytes: number;
}

/** What /ServiceProviderConfig announces (RFC 7643 §5): exactly what this bridge does, no more. */
export function configureServiceProvider(limits: ScimLimits): void {
  SCIMMY.Config.set("authenticationSchemes", []); // set() appends to the list scimmy-routers started
  SCIMMY.Config.set({
    documentationUri: "https://github.com/scim-bridge/scim-bridge#readme",
    patch: { supported: true },
    bulk: { supported: true, maxOperations: limits.bulkMaxOperations, maxPayloadSize: limits.maxBodyBytes },
    filter: { supported: true, maxResults: limits.maxResults },
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: true },
    authenticationSchemes: [
      {
        type: "oauthbearertoken",
        name: "OAuth Bearer Token",
        description: "A bearer token issued by this bridge for one connection, or a JWT from the connection's IdP",
        specUri: "https://datatracker.ietf.org/doc/html/rfc6750",
        primary: true,
      },
      {
        type: "httpbasic",
        name: "HTTP Basic",
        description: "A user name and password issued by this bridge for one connection",
        specUri: "https://datatracker.ietf.org/doc/html/rfc7617",
      },
    ],
  } as never);
}
