/**
 * An app owner's connector module dropped into CONNECTORS_DIR (the README's example,
 * examples/connectors-dir/team-directory.mjs) is picked up with no change to the bridge and passes
 * the same conformance kit as the built-in kinds, against the fake REST target it was written for.
 */
import { copyFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../src/paths.js";
import { ConnectorRegistry, loadConnectorsDir } from "../../src/engine/registry.js";
import { describeConformance, type ConformancePeer } from "../support/conformance.js";
import { restPeer } from "../support/peers/rest-peer.js";

interface TeamDirectoryConfig {
  baseUrl: string;
  token: string;
}

const dir = await mkdtemp(join(tmpdir(), "sb-connectors-dir-"));
await copyFile(join(PROJECT_ROOT, "examples", "connectors-dir", "team-directory.mjs"), join(dir, "team-directory.mjs"));
const registry = new ConnectorRegistry();
await loadConnectorsDir(registry, dir);
const connector = registry.get("team-directory")!;

/** The fake target's peer, with the module's own config shape: a base URL and a token. */
async function teamDirectoryPeer(): Promise<ConformancePeer<TeamDirectoryConfig>> {
  const peer = await restPeer();
  const token = String(peer.config.secrets?.token);
  return {
    ...peer,
    config: { baseUrl: peer.config.baseUrl, token },
    badCredentials: { baseUrl: peer.config.baseUrl, token: "not-the-token" },
  };
}

describe("CONNECTORS_DIR", () => {
  it("picks up the module with its declared kind", () => {
    expect(registry.ids()).toEqual(["team-directory"]);
  });
});

describeConformance(connector as typeof connector & { id: string }, teamDirectoryPeer as () => Promise<ConformancePeer<unknown>>);
