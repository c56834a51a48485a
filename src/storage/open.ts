import { mkdir } from "node:fs/promises";
import type { Db } from "./db.js";
import { openPg } from "./pg-driver.js";
import { openPgliteThread } from "./pglite-thread-driver.js";

export interface StorageConfig {
  databaseUrl?: string | undefined;
  dataDir: string;
  pgPoolMax?: number;
  pgliteSharedBuffersMb?: number;
}

/** DESIGN.md principle 7: PGlite in `dataDir` unless `databaseUrl` names a PostgreSQL server. */
export async function openStorage(config: StorageConfig): Promise<Db> {
  if (config.databaseUrl) return openPg({ connectionString: config.databaseUrl, max: config.pgPoolMax ?? 10 });
  await mkdir(config.dataDir, { recursive: true });
  return openPgliteThread({ dataDir: config.dataDir, ...(config.pgliteSharedBuffersMb ? { sharedBuffersMb: config.pgliteSharedBuffersMb } : {}) });
}
