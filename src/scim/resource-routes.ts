import express, { type NextFunction, type Request, type Response } from "express";
import SCIMMY from "scimmy";
import { scimOf } from "./context.js";
import { patchRoute } from "./patch-route.js";
import { withSchemas } from "./with-schemas.js";
import { groupJson, unnarrowed, userJson } from "./representation.js";
import { readUser } from "./user-handlers.js";
import { readGroup } from "./group-handlers.js";


type ResourceClass = typeof SCIMMY.Resources.User | typeof SCIMMY.Resources.Group;
type Instance = { read(ctx: unknown): Promise<unknown>; write(body: unknown, ctx: unknown): Promise<unknown>; dispose(ctx: unknown): Promise<void> };
const make = (Resource: ResourceClass, ...args: unknown[]): Instance => new (Resource as unknown as new (...a: unknown[]) => Instance)(...args);

/**
 * The resource routes of one type (RFC 7644 §3.3–3.6), as scimmy-routers has them, but served
 * here so our error handler renders every failure (SCIMMY's Error message refuses a 503) and
 * PATCH can re-apply itself (patch-route.ts). Lists and searches live in lists.ts.
 */
export function resourceRoutes(kind: "User" | "Group"): express.Router {
  const Resource = kind === "User" ? SCIMMY.Resources.User : SCIMMY.Resources.Group;
  const router = express.Router();
  const run = (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: NextFunction) => {
    fn(req, res).catch(next);
  };
  router.get("/:id", run(async (req, res) => {
    const query = req.query as Record<string, unknown>;
    if (unnarrowed(query)) {
      const basepath = Resource.basepath() as string;
      const id = String(req.params.id);
      res.status(200).send(kind === "User" ? userJson(await readUser(scimOf(req), id), basepath) : groupJson(await readGroup(scimOf(req), id), basepath));
      return;
    }
    res.status(200).send(withSchemas(await make(Resource, req.params.id, req.query).read(scimOf(req)), kind));
  }));
  router.post("/", run(async (req, res) => {
    res.status(201).send(withSchemas(await make(Resource, req.query).write(req.body, scimOf(req)), kind));
  }));
  router.put("/:id", run(async (req, res) => {
    res.status(200).send(withSchemas(await make(Resource, req.params.id, req.query).write(req.body, scimOf(req)), kind));
  }));
  router.patch("/:id", patchRoute(kind));
  router.delete("/:id", run(async (req, res) => {
    await make(Resource, req.params.id).dispose(scimOf(req));
    res.status(204).end();
  }));
  return router;
}
