import type { NextFunction, Request, Response } from "express";
import type { Logger } from "../log.js";

const SCIM_ID = /\/(Users|Groups)\/([0-9a-f-]{36})/i;

/**
 * One log line per request: method, path (never the query string, which can carry emails in a
 * filter), status, connection, duration and the SCIM id concerned. Tokens never reach it.
 */
export function requestLog(log: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    // winston formats before its transports filter by level: build nothing that nobody will read.
    const started = process.hrtime.bigint();
    const enabled = log.isLevelEnabled("info");
    res.on("finish", () => {
      if (!enabled && res.statusCode < 500) return;
      const path = (req.originalUrl ?? req.url).split("?")[0] ?? "";
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const scimId = (res.locals.scimId as string | undefined) ?? SCIM_ID.exec(path)?.[2];
      const entry = {
        method: req.method,
        path,
        status: res.statusCode,
        durationMs: Math.round(durationMs * 100) / 100,
        ...(res.locals.connectionId ? { connectionId: res.locals.connectionId as string } : {}),
        ...(scimId ? { scimId } : {}),
        ...(req.query && Object.keys(req.query).length > 0 ? { queryKeys: Object.keys(req.query) } : {}),
      };
      if (res.statusCode >= 500) log.error("request", entry);
      else log.info("request", entry);
    });
    next();
  };
}
