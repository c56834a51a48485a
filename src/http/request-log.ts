import type { IncomingMessage, ServerResponse } from "node:http";
import type { NextFunction, Request, Response } from "express";
import type { Logger } from "../log.js";

const SCIM_ID = /\/(Users|Groups)\/([0-9a-f-]{36})/i;

/** What a request's log line says about it besides method, path and status. */
export interface RequestFacts {
  connectionId?: string | undefined;
  scimId?: string | undefined;
  queryKeys: () => string[];
}

/**
 * Logs one line when the answer has been sent: method, path (never the query string, which can
 * carry emails in a filter), status, connection, duration and the SCIM id concerned. Tokens never
 * reach it. `facts` is read when the answer is finished, so a route may fill it in on its way.
 */
export function logWhenFinished(log: Logger, req: IncomingMessage & { originalUrl?: string }, res: ServerResponse, facts: () => RequestFacts): void {
  // winston formats before its transports filter by level: build nothing that nobody will read.
  const started = process.hrtime.bigint();
  const enabled = log.isLevelEnabled("info");
  res.on("finish", () => {
    if (!enabled && res.statusCode < 500) return;
    const path = (req.originalUrl ?? req.url ?? "").split("?")[0] ?? "";
    const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
    const known = facts();
    const scimId = known.scimId ?? SCIM_ID.exec(path)?.[2];
    const queryKeys = known.queryKeys();
    const entry = {
      method: req.method,
      path,
      status: res.statusCode,
      durationMs: Math.round(durationMs * 100) / 100,
      ...(known.connectionId ? { connectionId: known.connectionId } : {}),
      ...(scimId ? { scimId } : {}),
      ...(queryKeys.length > 0 ? { queryKeys } : {}),
    };
    if (res.statusCode >= 500) log.error("request", entry);
    else log.info("request", entry);
  });
}

/** The express middleware: one log line per request, with what the routes put in `res.locals`. */
export function requestLog(log: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    logWhenFinished(log, req, res, () => ({
      connectionId: res.locals.connectionId as string | undefined,
      scimId: res.locals.scimId as string | undefined,
      queryKeys: () => (req.query ? Object.keys(req.query) : []),
    }));
    next();
  };
}
