/**
 * Runs work for one key at a time, in arrival order; other keys are not held up. The PATCH route
 * uses it per resource, so that in one process concurrent PATCHes to a group queue instead of
 * racing each other's read → apply → write (they would re-apply until they gave up). Across
 * replicas, the version check in the write still catches a race, and the PATCH re-applies.
 */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const tail = new Promise<void>((resolve) => (release = resolve));
    const mine = previous.then(() => tail);
    this.#tails.set(key, mine);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.#tails.get(key) === mine) this.#tails.delete(key);
    }
  }

  /** Keys with work queued or running (for tests). */
  get size(): number {
    return this.#tails.size;
  }
}
