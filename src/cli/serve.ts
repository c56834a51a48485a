import { ConfigError, loadConfig } from "../config.js";
import { createLogger } from "../log.js";
import { startBridge, type FirstRun } from "../server.js";

function banner(firstRun: FirstRun, scimUrl: string): string {
  const lines: string[] = [];
  if (firstRun.demo) {
    lines.push(
      "",
      "  scim-bridge is ready with a demo connection. Point your IdP (or curl) at:",
      `    SCIM base URL : ${firstRun.demo.scimUrl}`,
      `    Bearer token  : ${firstRun.demo.token}`,
      "  The token is shown only now; rotate it with `scim-bridge token rotate demo`.",
      `  Try: curl -H "Authorization: Bearer ${firstRun.demo.token}" ${scimUrl}/Users`,
    );
  }
  if (firstRun.adminToken) {
    lines.push(
      "",
      "  Admin token (role admin), shown only now — the CLI needs it:",
      `    export SCIM_BRIDGE_ADMIN_TOKEN=${firstRun.adminToken}`,
    );
  }
  return lines.length > 0 ? lines.join("\n") + "\n" : "";
}

/** `scim-bridge serve`: runs until SIGTERM/SIGINT, then drains in-flight requests and exits 0. */
export async function serve(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const log = createLogger(config.logLevel);
  let bridge;
  try {
    bridge = await startBridge(config, { log });
  } catch (error) {
    log.error("start-up failed", { error: (error as Error).message });
    const hint = config.databaseUrl
      ? "check that DATABASE_URL names a reachable PostgreSQL server"
      : `check that DATA_DIR (${config.dataDir}) is writable and not used by another running bridge`;
    console.error(`scim-bridge could not start: ${(error as Error).message}\n  ${hint}`);
    process.exit(1);
  }
  process.stdout.write(banner(bridge.firstRun, bridge.scimUrl));
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("shutting down", { signal });
    bridge
      .close()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        log.error("shutdown failed", { error });
        process.exit(1);
      });
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}
