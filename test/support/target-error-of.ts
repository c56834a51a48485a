import { TargetError } from "../../src/connector-kit.js";

/** The TargetError a promise rejects with; anything else (or success) fails the test. */
export async function targetErrorOf(promise: Promise<unknown>): Promise<TargetError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TargetError) return error;
    throw error;
  }
  throw new Error("expected a TargetError, and the call succeeded");
}
