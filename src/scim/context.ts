import type { Response } from "express";
import type { Logger } from "../log.js";
import type { Db } from "../storage/db.js";
import type { ChangeRecorder } from "./changes.js";

/**
 * What SCIMMY hands our ingress/egress/degress handlers (scimmy-routers' `context(req)`): the
 * authenticated connection and everything a handler needs. SCIMMY's handlers are process-global,
 * so nothing request-specific may live anywhere else.
 */
export interface ScimContext {
  connectionId: string;
  db: Db;
  recorder: ChangeRecorder;
  log: Logger;
  res: Response;
  /** The request's If-Match header (RFC 7644 §3.14), checked inside the write's transaction. */
  ifMatch: string | undefined;
  /** False when the request excluded `members` (Entra: `excludedAttributes=members`). */
  withMembers: boolean;
  /** Set while a PATCH runs: the version its read saw, which its write must still find. */
  patch?: { baseVersion?: number };
  /** Set inside /Bulk: per-resource headers (ETag, Location) make no sense there. */
  bulk?: boolean;
}
