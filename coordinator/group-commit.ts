/**
 * Group commit for accepted reports: reports that arrive while the store writes the batch before
 * them wait here, then go together — one transaction, one fsync — and each is answered once its
 * batch is durable. The wait is bounded: a full queue refuses at once (429 with `Retry-After`)
 * instead of growing without limit, and a refused report changes nothing.
 */
import { HttpError } from "./http-error.ts";

/** How many reports may wait to be folded and stored before new ones are refused (see docs/benchmarks.md). */
export const DEFAULT_MAX_WAITING_REPORTS = 128;

/** Seconds a refused sender is told to wait: a batch is stored in milliseconds, so the queue drains within one. */
export const BUSY_RETRY_AFTER_SECONDS = 1;

/** Thrown for a report that finds the queue full; the route answers 429 with `Retry-After`. */
export class IngestBusyError extends HttpError {
  constructor(
    readonly retryAfterSeconds: number,
    waiting: number,
  ) {
    super(
      429,
      "busy",
      `Cannot accept the report now: ${waiting} reports wait to be stored; retry after ${retryAfterSeconds} s`,
    );
    this.name = "IngestBusyError";
  }
}

/** One waiting item and how to answer its sender. */
export interface Waiting<T> {
  item: T;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** A bounded queue of items to store in batches, at most one item per key in a batch. */
export class GroupQueue<T> {
  readonly #limit: number;
  readonly #key: (item: T) => string;
  #waiting: Waiting<T>[] = [];

  constructor(options: { limit: number; key: (item: T) => string }) {
    this.#limit = options.limit;
    this.#key = options.key;
  }

  /** Queues an item; settles once its batch is handled, or rejects at once with `IngestBusyError` when full. */
  add(item: T): Promise<void> {
    if (this.#waiting.length >= this.#limit) {
      return Promise.reject(new IngestBusyError(BUSY_RETRY_AFTER_SECONDS, this.#waiting.length));
    }
    return new Promise((resolve, reject) => this.#waiting.push({ item, resolve, reject }));
  }

  /**
   * The next batch in arrival order; a second item of the same key (a probe's next report, which
   * folds over the first) stays for the batch after, still in order.
   */
  take(): Waiting<T>[] {
    const keys = new Set<string>();
    const batch: Waiting<T>[] = [];
    const rest: Waiting<T>[] = [];
    for (const waiting of this.#waiting) {
      const key = this.#key(waiting.item);
      if (keys.has(key)) {
        rest.push(waiting);
      } else {
        keys.add(key);
        batch.push(waiting);
      }
    }
    this.#waiting = rest;
    return batch;
  }

  /** How many items wait. */
  get size(): number {
    return this.#waiting.length;
  }
}
