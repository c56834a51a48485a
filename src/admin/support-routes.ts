import express, { type Request, type Response } from "express";
import type { Clock } from "../engine/clock.js";
import { changesSince, openEscalations, searchPeople, type ChangeEvent } from "../engine/support-views.js";
import type { Logger } from "../log.js";
import type { Db } from "../storage/db.js";
import { allow } from "./admin-auth.js";
import { adminError } from "./admin-error.js";
import { connectionOr404, handler } from "./route-kit.js";

export interface SupportRouteDeps {
  db: Db;
  log: Logger;
  clock: Clock;
  /** How often the live feed looks for changes while someone listens (Default: 1000 ms). */
  feedIntervalMs?: number;
}

/** Changes are re-read this far back, so a transaction that committed late is not missed (seen ones are skipped). */
const FEED_OVERLAP_MS = 3_000;
const HEARTBEAT_MS = 15_000;

/**
 * One poller for every listener: it reads the tasks changed since its cursor while anyone listens,
 * and hands each change to every listener once. It reads the database, so a change made by any
 * replica reaches a console connected to any other.
 */
class ChangeFeed {
  private readonly listeners = new Set<(e: ChangeEvent) => void>();
  private timer: NodeJS.Timeout | undefined;
  private cursor: Date | undefined;
  private readonly seen = new Map<string, number>();
  private polling = false;

  constructor(private readonly deps: SupportRouteDeps) {}

  subscribe(listener: (e: ChangeEvent) => void): () => void {
    this.listeners.add(listener);
    if (!this.timer) {
      this.cursor = this.deps.clock.now();
      this.timer = setInterval(() => void this.poll(), this.deps.feedIntervalMs ?? 1_000);
      this.timer.unref();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
        this.seen.clear();
      }
    };
  }

  private async poll(): Promise<void> {
    if (this.polling || !this.cursor) return;
    this.polling = true;
    try {
      const from = new Date(this.cursor.getTime() - FEED_OVERLAP_MS);
      for (const change of await changesSince(this.deps.db, from)) {
        const at = change.updatedAt.getTime();
        if ((this.seen.get(change.taskId) ?? -1) >= at) continue;
        this.seen.set(change.taskId, at);
        if (this.cursor < change.updatedAt) this.cursor = change.updatedAt;
        for (const listener of this.listeners) listener(change);
      }
      for (const [id, at] of this.seen) if (at < from.getTime()) this.seen.delete(id);
    } catch (error) {
      this.deps.log.warn("the live feed could not read changes; it tries again", { error });
    } finally {
      this.polling = false;
    }
  }
}

/**
 * What the console needs besides the operation routes: people search, the escalations queue, and
 * a live feed of changes as server-sent events (read with fetch and the Authorization header, so
 * the admin token never goes into a URL).
 */
export function supportRoutes(deps: SupportRouteDeps): express.Router {
  const { db, log } = deps;
  const router = express.Router();
  const handle = handler(log);
  const feed = new ChangeFeed(deps);
  const connectionFilter = async (req: Request, res: Response): Promise<{ id?: string } | null> => {
    if (req.query.connection === undefined) return {};
    const c = await connectionOr404(db, res, req.query.connection);
    return c ? { id: c.id } : null;
  };

  router.get("/people", allow("viewer", "operator"), handle(async (req, res) => {
    const q = typeof req.query.q === "string" ? req.query.q : "";
    if (q.trim() === "") return adminError(res, 400, "q is required: the start of a userName, or an exact email or externalId", "GET /admin/api/people?q=alice");
    const limit = req.query.limit === undefined ? 20 : Number(req.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) return adminError(res, 400, "limit must be a whole number from 1 to 100");
    const c = await connectionFilter(req, res);
    if (!c) return;
    res.json({ people: await searchPeople(db, q, { limit, ...(c.id ? { connectionId: c.id } : {}) }) });
  }));

  router.get("/escalations", allow("viewer", "operator"), handle(async (req, res) => {
    const c = await connectionFilter(req, res);
    if (!c) return;
    res.json({ escalations: await openEscalations(db, c.id ? { connectionId: c.id } : {}) });
  }));

  router.get("/events", allow("viewer", "operator"), (req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", connection: "keep-alive", "x-accel-buffering": "no" });
    res.write(": live changes of tasks; each event names what to re-read\n\n");
    const unsubscribe = feed.subscribe((change) => {
      res.write(`event: task\ndata: ${JSON.stringify({ ...change, updatedAt: change.updatedAt.toISOString() })}\n\n`);
    });
    const heartbeat = setInterval(() => res.write(": heartbeat\n\n"), HEARTBEAT_MS);
    heartbeat.unref();
    req.on("close", () => {
      clearInterval(heartbeat);
      unsubscribe();
    });
  });

  return router;
}
