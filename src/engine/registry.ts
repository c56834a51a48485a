import { existsSync, type Dirent } from "node:fs";
import { readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import * as kit from "../connector-kit.js";
import type { Connector } from "../connector-kit.js";

/**
 * The connector kinds this process can run: the built-in list plus modules an app owner names
 * (CONNECTOR_MODULES). Duplicate ids are refused, as baton-sdk's addProvisioner does.
 */
export class ConnectorRegistry {
  private readonly kinds = new Map<string, Connector>();

  constructor(connectors: readonly Connector[] = []) {
    for (const connector of connectors) this.add(connector);
  }

  add(connector: Connector): void {
    if (!connector || typeof connector.id !== "string" || !/^[a-z0-9][a-z0-9-]*$/.test(connector.id)) {
      throw new Error(`a connector needs a kebab-case string id, got ${JSON.stringify((connector as { id?: unknown } | undefined)?.id)}`);
    }
    if (this.kinds.has(connector.id)) throw new Error(`connector kind "${connector.id}" is registered twice`);
    if (typeof connector.findAccount !== "function" || typeof connector.verify !== "function" || !Array.isArray(connector.plans?.deactivate)) {
      throw new Error(`connector "${connector.id}" must define findAccount, verify and plans.deactivate (see src/connector-kit.ts)`);
    }
    this.kinds.set(connector.id, connector);
  }

  get(kind: string): Connector | undefined {
    return this.kinds.get(kind);
  }

  ids(): string[] {
    return [...this.kinds.keys()].sort();
  }
}

/**
 * What a connector module's default export may be: the connector itself, or a function given the
 * connector kit that returns it — so a module in any folder can use the bridge's own TargetError
 * and helpers without resolving this package (`export default (kit) => ({ id: "x", … })`).
 */
type ConnectorModule = { default?: Connector | ((k: typeof kit) => Connector | Promise<Connector>) };

async function loadModule(path: string): Promise<Connector> {
  let module: ConnectorModule;
  try {
    module = (await import(pathToFileURL(resolve(path)).href)) as ConnectorModule;
  } catch (error) {
    throw new Error(`connector module ${path} could not be loaded: ${(error as Error).message}`, { cause: error });
  }
  const exported = module.default;
  if (!exported) throw new Error(`connector module ${path} has no default export (export default { id, … } satisfies Connector)`);
  return typeof exported === "function" ? await exported(kit) : exported;
}

/** Loads connector modules (their default export) from paths, relative to the working directory. */
export async function loadConnectorModules(registry: ConnectorRegistry, paths: readonly string[]): Promise<void> {
  for (const path of paths) registry.add(await loadModule(path));
}

/**
 * Loads every connector module in `dir` (CONNECTORS_DIR): each `*.js` / `*.mjs` file, and each
 * folder with an `index.js` or `index.mjs`, in name order. Returns the ids it added.
 */
export async function loadConnectorsDir(registry: ConnectorRegistry, dir: string): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw new Error(`CONNECTORS_DIR=${dir} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); create it or unset CONNECTORS_DIR`, { cause: error });
  }
  const paths: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith(".")) continue;
    if (entry.isFile() && /\.m?js$/.test(entry.name)) paths.push(join(dir, entry.name));
    else if (entry.isDirectory()) {
      const index = ["index.js", "index.mjs"].map((f) => join(dir, entry.name, f)).find((f) => existsSync(f));
      if (index) paths.push(index);
    }
  }
  const added: string[] = [];
  for (const path of paths) {
    const connector = await loadModule(path);
    registry.add(connector);
    added.push(connector.id);
  }
  return added;
}
