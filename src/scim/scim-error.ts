import SCIMMY from "scimmy";

/** RFC 7644 §3.12 scimType keywords we use. */
export type ScimType =
  | "invalidFilter" | "tooMany" | "uniqueness" | "mutability" | "invalidSyntax"
  | "invalidPath" | "noTarget" | "invalidValue" | "invalidVers" | "sensitive";

/** A SCIM error: SCIMMY renders it as the §3.12 body and scimmy-routers sends its status. */
export function scimError(status: number, scimType: ScimType | null, detail: string): InstanceType<typeof SCIMMY.Types.Error> {
  return new SCIMMY.Types.Error(status, scimType as string, detail);
}

export const isScimError = (error: unknown): error is InstanceType<typeof SCIMMY.Types.Error> => error instanceof SCIMMY.Types.Error;

export const ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error";

/**
 * The database cannot answer. SCIMMY's Error message accepts no 503, so this travels as a 500
 * SCIM error (inside /Bulk that is what the operation reports) and our own routes answer 503.
 */
export function unavailableError(): InstanceType<typeof SCIMMY.Types.Error> & { httpStatus: number } {
  return Object.assign(scimError(500, null, "The bridge cannot reach its database; retry later"), { httpStatus: 503 });
}

/** The RFC 7644 §3.12 body for any status, built here because SCIMMY's refuses some (503). */
export function errorBody(status: number, scimType: string | null | undefined, detail: string): Record<string, unknown> {
  return { schemas: [ERROR_SCHEMA], status: String(status), ...(scimType ? { scimType } : {}), detail };
}

/** Status and body for an error thrown on a SCIM route; undefined when it is not a client-facing error. */
export function describeScimError(error: unknown): { status: number; body: Record<string, unknown> } | undefined {
  if (!isScimError(error)) return undefined;
  const status = (error as { httpStatus?: number }).httpStatus ?? error.status;
  return { status, body: errorBody(status, error.scimType, error.message) };
}
