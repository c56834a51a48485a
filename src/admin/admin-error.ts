import type { Response } from "express";

/** The admin API's error body: what went wrong and what to do next. */
export function adminError(res: Response, status: number, message: string, hint?: string, problems?: readonly string[]): void {
  res.status(status).json({ error: { status, message, ...(hint ? { hint } : {}), ...(problems && problems.length > 1 ? { problems } : {}) } });
}
