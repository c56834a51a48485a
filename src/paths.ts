import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package root, found from this file whether it runs from `src/` (tests) or `dist/src/`. */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("scim-bridge: cannot find package.json above " + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

export const PROJECT_ROOT = findRoot();
export const MIGRATIONS_DIR = join(PROJECT_ROOT, "src", "storage", "migrations");
export const SCHEMAS_DIR = join(PROJECT_ROOT, "schemas");
/** The static files of the support console. */
export const CONSOLE_DIR = join(PROJECT_ROOT, "src", "console", "public");
/** package.json's version: the admin API's OpenAPI document and the CLI show it. */
export const PACKAGE_VERSION = (JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")) as { version: string }).version;

/**
 * Node flags the bridge is run with (`npm start`, the Dockerfile, the benchmarks; test/cli/node-flags.test.ts
 * keeps the three in step):
 * - a 160 MB old generation keeps the main heap's garbage from pushing the process past its 400 MB
 *   budget (the live heap is ~25 MB; PGlite's WASM memory and worker thread are the rest);
 * - `--single-threaded-gc`: V8's parallel GC helpers are four more threads competing with the main
 *   thread and the database worker for the cores; on the 2-core machine `npm run bench:scim` runs on
 *   they made the pauses longer, not shorter (filtered GET p99 16 ms with them, 10 ms without);
 * - a 4 MB semi-space: young-generation collections are shorter and the old generation fills
 *   more slowly (p99 11 → 10 ms, peak RSS 330 → 290 MB).
 */
export const SERVE_NODE_FLAGS: readonly string[] = ["--max-old-space-size=160", "--single-threaded-gc", "--max-semi-space-size=4"];
