import SCIMMY from "scimmy";
import { scimError, unavailableError } from "./scim-error.js";
import { sqlState } from "../storage/db.js";
import { ConcurrentWriteError, PreconditionFailedError, UniquenessError, weakEtag } from "../storage/resource-errors.js";
import type { ScimContext } from "./context.js";

/** Thrown to the PATCH route, which re-reads and re-applies; never reaches an IdP. */
export class RetryPatch extends SCIMMY.Types.Error {
  constructor() {
    super(409, null as unknown as string, "The resource changed while the PATCH was applied; retry the request");
  }
}

function unavailable(error: unknown): boolean {
  const state = sqlState(error) ?? "";
  const message = error instanceof Error ? error.message : String(error);
  return /^(08|57|53)/.test(state) || /^E(CONNREFUSED|CONNRESET|PIPE|TIMEDOUT)$/.test(state) || /closed|terminat|connect/i.test(message);
}

/**
 * Runs a SCIMMY handler body and turns every failure into a SCIM error ourselves. SCIMMY turns any
 * other error into "404 Resource not found" (scimmy-facts.md §2), which would tell an IdP that a
 * user is gone when only the database is: that must never happen.
 */
export async function guarded<T>(ctx: ScimContext, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof SCIMMY.Types.Error) throw error;
    if (error instanceof UniquenessError) throw scimError(409, "uniqueness", `${error.attribute} is already in use in this connection`);
    if (error instanceof PreconditionFailedError) {
      throw scimError(412, null, `If-Match does not match the current version ${weakEtag(error.current)}; read the resource again`);
    }
    if (error instanceof ConcurrentWriteError) throw new RetryPatch();
    if (unavailable(error)) {
      ctx.log.error("storage unavailable", { what, connectionId: ctx.connectionId, error });
      throw unavailableError();
    }
    ctx.log.error("unexpected error in SCIM handler", { what, connectionId: ctx.connectionId, error, stack: error instanceof Error ? error.stack : undefined });
    throw scimError(500, null, "Internal error; the bridge has logged it");
  }
}
