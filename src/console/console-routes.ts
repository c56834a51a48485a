import { join } from "node:path";
import express, { type NextFunction, type Request, type Response } from "express";
import { PROJECT_ROOT } from "../paths.js";

/**
 * The support console's static files (plain ES modules, no build step). They are read from the
 * source tree at run time, like the migrations: an image must ship `src/console/public`.
 */
export const CONSOLE_PUBLIC_DIR = join(PROJECT_ROOT, "src", "console", "public");

/**
 * The console's Content-Security-Policy: its own scripts, styles and API only. No inline script or
 * style, no framing, no plugins, no form posts elsewhere, so a name or evidence string that slips
 * into the page as markup still cannot run (the console renders with textContent anyway).
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

export interface ConsoleRouteOptions {
  /** Where the files are (Default: CONSOLE_PUBLIC_DIR). */
  publicDir?: string;
}

/**
 * The console at `/`: `index.html` and its modules and stylesheet, with a strict CSP and
 * `Cache-Control: no-cache` (the files carry no content hash, so browsers revalidate with the ETag
 * and get a 304 while nothing changed). Only GET and HEAD of files that exist are answered;
 * everything else falls through to the routes mounted after it (and to the app's 404).
 */
export function consoleRoutes(options: ConsoleRouteOptions = {}): express.Router {
  const router = express.Router();
  const files = express.static(options.publicDir ?? CONSOLE_PUBLIC_DIR, {
    index: "index.html",
    redirect: false,
    dotfiles: "ignore",
    fallthrough: true,
    etag: true,
    lastModified: true,
    setHeaders: (res) => {
      res.setHeader("Content-Security-Policy", CONSOLE_CSP);
      res.setHeader("Cache-Control", "no-cache");
      res.setHeader("X-Content-Type-Options", "nosniff");
      res.setHeader("Referrer-Policy", "no-referrer");
      res.setHeader("Cross-Origin-Opener-Policy", "same-origin");
      res.setHeader("X-Frame-Options", "DENY");
    },
  });
  router.use((req: Request, res: Response, next: NextFunction) => {
    if (req.method !== "GET" && req.method !== "HEAD") return next();
    // the API surfaces are never files: skip the disk for them
    if (req.path.startsWith("/admin/") || req.path.startsWith("/scim/")) return next();
    files(req, res, next);
  });
  return router;
}
