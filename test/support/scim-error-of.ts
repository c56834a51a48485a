import SCIMMY from "scimmy";

/** The SCIM error a call throws, as {status, scimType, message}; a string says what happened instead. */
export function scimErrorOf(fn: () => unknown): { status: number; scimType: string; message: string } | string {
  try {
    fn();
    return "no error";
  } catch (error) {
    if (!(error instanceof SCIMMY.Types.Error)) return `not a SCIM error: ${String(error)}`;
    return { status: error.status, scimType: error.scimType, message: error.message };
  }
}
