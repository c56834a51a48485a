/**
 * The receipt issuer: a sweep that finds completed operations without a receipt and issues them
 * (`receipts.ts` says what complete means). Its query reads only released operations not yet
 * settled (a partial index, migration 0005), so a sweep costs in proportion to the work in flight,
 * not to every operation ever recorded. Replicas may all run it: issuing is idempotent.
 */
import type { Clock } from "../engine/clock.js";
import { systemClock } from "../engine/clock.js";
import type { Logger } from "../log.js";
import type { SecretBox } from "../secret-box.js";
import type { Db } from "../storage/db.js";
import { operationsDueForReceipt } from "../storage/receipts-repo.js";
import { ensureReceiptKey, receiptKeyring, resealReceiptKeys } from "./keys.js";
import { issueReceipt, type IssueOutcome } from "./receipts.js";

export interface ReceiptIssuerDeps {
  db: Db;
  /** The engine's secret box: it seals and opens the receipt keys. */
  box: SecretBox;
  log: Logger;
  /** The bridge's public URL: every receipt's `iss` (a function when it is known only once the server listens). */
  publicUrl: string | (() => string);
  /** Pause between sweeps (Default: 5000). */
  intervalMs?: number;
  /** Most operations one sweep looks at (Default: 200); a sweep that fills it runs again at once. */
  batchSize?: number;
  /** Time of `issued_at` and `iat` (Default: the system clock; the engine's in tests). */
  clock?: Clock;
}

export interface ReceiptIssuer {
  /** Issues the receipts of every completed operation that has none; returns how many it issued. */
  sweepOnce(): Promise<number>;
  /** Issues one operation's receipt now if it is complete (the receipt route calls it, so a download never waits for a sweep). */
  issue(operationId: string): Promise<IssueOutcome>;
  /** Makes the first key if there is none, seals old keys anew, then sweeps every `intervalMs`. */
  start(): Promise<void>;
  /** Stops sweeping and waits for a sweep in progress. Idempotent. */
  stop(): Promise<void>;
}

export function receiptIssuer(deps: ReceiptIssuerDeps): ReceiptIssuer {
  const { db, box, log } = deps;
  const clock = deps.clock ?? systemClock;
  const intervalMs = deps.intervalMs ?? 5000;
  const batchSize = deps.batchSize ?? 200;
  const keys = receiptKeyring(db, box, clock);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = true;

  const iss = () => (typeof deps.publicUrl === "function" ? deps.publicUrl() : deps.publicUrl);
  const issue = (operationId: string) => issueReceipt(db, keys, { operationId, iss: iss(), now: clock.now() });

  async function sweepOnce(): Promise<number> {
    let issued = 0;
    for (;;) {
      const due = await operationsDueForReceipt(db, batchSize);
      let settled = 0;
      for (const id of due) {
        const result = await issue(id);
        if (result.outcome === "issued") {
          issued++;
          log.info(`Receipt issued for operation ${id} (key ${result.receipt.kid})`, { operationId: id, kid: result.receipt.kid });
        }
        if (result.outcome !== "incomplete" || result.final) settled++;
      }
      // Another batch only when this one was full and made progress (never spin on one that cannot settle).
      if (due.length < batchSize || settled === 0) return issued;
    }
  }

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = undefined;
      running = sweepOnce()
        .catch((error: unknown) => log.error("receipt sweep failed; retrying at the next interval", { error }))
        .finally(() => {
          running = undefined;
          schedule();
        });
    }, intervalMs);
    timer.unref();
  };

  return {
    sweepOnce,
    issue,
    async start() {
      if (!stopped) return;
      const key = await ensureReceiptKey(db, box, clock);
      const resealed = await resealReceiptKeys(db, box);
      if (resealed.resealed > 0) log.info("receipt keys sealed again with the newest SECRETS_KEY key", { keys: resealed.resealed, keyId: box.primaryKeyId });
      for (const failure of resealed.failures) log.error("a receipt key cannot be opened with SECRETS_KEY; receipts it signed still verify, but it cannot sign", failure);
      log.info("receipt issuer started", { kid: key.kid, intervalMs });
      stopped = false;
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
