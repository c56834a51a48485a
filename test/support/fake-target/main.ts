/**
 * The fake target as its own process, for tests that kill and restart the bridge around it:
 * `node dist/test/support/fake-target/main.js`. Listens on 127.0.0.1:$PORT (Default: an ephemeral
 * port), prints one JSON line `{"event":"listening","url":"http://127.0.0.1:NNNN"}` on stdout, and
 * exits 0 on SIGTERM or SIGINT. A test entry point, so it reads its one env var itself.
 */
import { startFakeTarget } from "./server.js";

const port = Number(process.env.PORT ?? "0");
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`fake target: PORT must be an integer from 0 to 65535, got ${JSON.stringify(process.env.PORT)}\n`);
  process.exit(1);
}

const target = await startFakeTarget({ port });
process.stdout.write(JSON.stringify({ event: "listening", url: target.url }) + "\n");

const stop = () => {
  void target.close().then(() => process.exit(0));
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
