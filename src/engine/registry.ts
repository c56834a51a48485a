import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
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

/** Loads connector modules (their default export) from paths, relative to the working directory. */
export async function loadConnectorModules(registry: ConnectorRegistry, paths: readonly string[]): Promise<void> {
  for (const path of paths) {
    const module = (await import(pathToFileURL(resolve(path)).href)) as { default?: Connector };
    if (!module.default) throw new Error(`connector module ${path} has no default export (export default { id, … } satisfies Connector)`);
    registry.add(module.default);
  }
}
