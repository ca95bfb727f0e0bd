/**
 * A client-side copy of a provider's request throttles: sliding windows over the requests this client
 * sent, so a request the provider would refuse is held back (or refused here) instead of spending a
 * slot of the provider's budget on a 429. A request counts from its answer, not its departure: the
 * provider admitted it before answering, so a window that has freed here has freed there too.
 */
import type { Clock } from "../../shared/clock.ts";

/** At most `limit` requests in any `windowMs`; `reserve` of them are kept free for foreground requests. */
export interface BudgetWindow {
  limit: number;
  windowMs: number;
  /** Requests a background request must leave unused in this window (default 0). */
  reserve?: number;
  /** Which requests this window counts: reads only (safe methods), or every request. */
  counts: "reads" | "all";
}

/** What a request is, for the windows that count it. */
export interface BudgetRequest {
  read: boolean;
  /** A background request (a drift check) must leave each window's `reserve` free. */
  background?: boolean;
}

interface Slot {
  read: boolean;
  /** When the answer came; `Infinity` while the request is in flight (it counts, and frees nothing yet). */
  at: number;
}

/** Sliding windows over this client's own requests. */
export class RequestBudget {
  readonly windows: readonly BudgetWindow[];
  readonly #clock: Clock;
  #slots: Slot[] = [];

  constructor(windows: readonly BudgetWindow[], clock: Clock) {
    this.windows = windows;
    this.#clock = clock;
  }

  /**
   * Milliseconds until `count` more such requests fit every window of at least `minWindowMs` (0: now;
   * `Infinity`: never, the count is more than such a window holds).
   */
  delay(request: BudgetRequest, count = 1, minWindowMs = 0): number {
    const now = this.#clock.now();
    this.#trim(now);
    let wait = 0;
    for (const w of this.windows) {
      if ((w.counts === "reads" && !request.read) || w.windowMs < minWindowMs) continue;
      const room = w.limit - (request.background ? (w.reserve ?? 0) : 0);
      if (count > room) return Number.POSITIVE_INFINITY;
      const used = this.#slots
        .filter((s) => (w.counts === "all" || s.read) && s.at > now - w.windowMs)
        .map((s) => s.at)
        .sort((a, b) => a - b);
      const over = used.length + count - room;
      if (over <= 0) continue;
      // The `over` oldest requests must leave the window first; one still in flight never does.
      const freedAt = (used[over - 1] ?? Number.POSITIVE_INFINITY) + w.windowMs;
      wait = Math.max(wait, freedAt - now);
    }
    return wait;
  }

  /** Counts one request from now; call the returned function when its answer (or failure) came. */
  take(request: BudgetRequest): () => void {
    const slot: Slot = { read: request.read, at: Number.POSITIVE_INFINITY };
    this.#slots.push(slot);
    return () => {
      slot.at = this.#clock.now();
    };
  }

  /** Requests counted in the last `windowMs` (reads only, or all). */
  used(windowMs: number, counts: "reads" | "all"): number {
    const now = this.#clock.now();
    return this.#slots.filter((s) => (counts === "all" || s.read) && s.at > now - windowMs).length;
  }

  #trim(now: number): void {
    const longest = Math.max(0, ...this.windows.map((w) => w.windowMs));
    this.#slots = this.#slots.filter((s) => s.at > now - longest);
  }
}
