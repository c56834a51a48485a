import type { Request } from "express";
import type { Logger } from "../log.js";
import type { Db } from "../storage/db.js";
import type { ChangeRecorder } from "./changes.js";

/**
 * What a handler may do to the answer besides its body: set headers (ETag, Location), and note in
 * `locals` what the request concerned for its log line (`scimId`). An express Response is one.
 */
export interface AnswerHeaders {
  setHeader(name: string, value: string): unknown;
  locals: Record<string, unknown>;
}

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
  res: AnswerHeaders;
  /** The request's If-Match header (RFC 7644 §3.14), checked inside the write's transaction. */
  ifMatch: string | undefined;
  /** False when the request excluded `members` (Entra: `excludedAttributes=members`). */
  withMembers: boolean;
  /** Set while a PATCH runs: what its read saw; its write applies only if the row is unchanged. */
  patch?: { baseVersion?: number; before?: import("../storage/users-repo.js").UserRecord };
  /** The record the last write of this request stored (or found unchanged). */
  written?: import("../storage/users-repo.js").UserRecord | import("../storage/groups-repo.js").GroupRecord;
  /** Set inside /Bulk: per-resource headers (ETag, Location) make no sense there. */
  bulk?: boolean;
}

/** The context the SCIM router's authentication put on the request. */
export const scimOf = (req: Request): ScimContext => (req as unknown as { scim: ScimContext }).scim;
