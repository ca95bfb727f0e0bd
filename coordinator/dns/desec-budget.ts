/**
 * deSEC's request throttles as healthmesh paces itself within them (desec-stack `api/api/settings.py`
 * DEFAULT_THROTTLE_RATES, `docs/rate-limits.rst`): reads (`dns_api_cheap`) 10 a second and 50 a minute,
 * and 2000 requests a day of any kind (`user`), all per account. Drift checks are background reads:
 * they leave 10 reads a minute and 600 requests a day to switches (deSEC caps RRset writes at 300 a
 * day per domain, and each switch reads its routers once), and their period follows the zone's size so
 * their share of the day is never spent.
 */
import type { Clock } from "../../shared/clock.ts";
import { RateLimitError } from "./errors.ts";
import { type BudgetRequest, type BudgetWindow, RequestBudget } from "./request-budget.ts";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;

/** deSEC's documented rates, with the share background (drift) reads must leave to switches. */
export const DESEC_BUDGET: readonly BudgetWindow[] = [
  { limit: 10, windowMs: SECOND, counts: "reads" },
  { limit: 50, windowMs: MINUTE, counts: "reads", reserve: 10 },
  { limit: 2000, windowMs: DAY, counts: "all", reserve: 600 },
];

/** The longest pause a request sits out inside a call (deSEC's per-second window); a longer wait is a `RateLimitError`. */
export const MAX_PACING_SLEEP_MS = SECOND;

/** The shortest drift period, whatever the zone's size (the period before issue 14). */
export const MIN_DRIFT_MS = 5 * MINUTE;

/** The drift period for a zone listed in `pages` pages: its background share of the day, spread over the day. */
export function driftPeriodMs(pages: number, windows: readonly BudgetWindow[]): number {
  const day = windows.find((w) => w.counts === "all" && w.windowMs >= DAY);
  const share = day ? day.limit - (day.reserve ?? 0) : 0;
  if (!day || share <= 0) return MIN_DRIFT_MS;
  return Math.max(MIN_DRIFT_MS, Math.ceil((Math.max(1, pages) * day.windowMs) / share));
}

/** How a window reads in messages: "50 reads a minute". */
function describeWindow(w: BudgetWindow): string {
  const unit = w.windowMs >= DAY ? "a day" : w.windowMs >= MINUTE ? "a minute" : "a second";
  return `${w.limit} ${w.counts === "reads" ? "reads" : "requests"} ${unit}`;
}

/** A budget of deSEC's windows on `clock`, with the pacing the client applies per request. */
export class DesecPacer {
  readonly budget: RequestBudget;
  readonly #clock: Clock;

  constructor(windows: readonly BudgetWindow[], clock: Clock) {
    this.budget = new RequestBudget(windows, clock);
    this.#clock = clock;
  }

  /** Throws `RateLimitError` (no request sent) unless `count` requests fit the windows longer than a pause. */
  check(request: BudgetRequest, count: number, what: string): void {
    const wait = this.budget.delay(request, count, MAX_PACING_SLEEP_MS + 1);
    if (wait > 0) throw this.#refusal(request, count, wait, what);
  }

  /** Waits until one request fits (a short pause at most), counts it and returns its "answered" callback. */
  async admit(request: BudgetRequest, what: string, signal?: AbortSignal): Promise<() => void> {
    const wait = this.budget.delay(request, 1);
    if (wait > MAX_PACING_SLEEP_MS) throw this.#refusal(request, 1, wait, what);
    if (wait > 0) await pause(this.#clock, wait, signal);
    return this.budget.take(request);
  }

  #refusal(request: BudgetRequest, count: number, wait: number, what: string): RateLimitError {
    const windows = this.budget.windows.filter((w) => request.read || w.counts === "all");
    const spent = windows
      .filter((w) => w.windowMs > MAX_PACING_SLEEP_MS)
      .map((w) => `${this.budget.used(w.windowMs, w.counts)} of ${describeWindow(w)}`)
      .join(", ");
    const kind = request.background ? "a drift check" : "this request";
    if (!Number.isFinite(wait)) {
      return new RateLimitError(
        "desec",
        `${what}: ${count} requests are more than deSEC's budget allows at once (${spent} used); healthmesh does not send ${kind}`,
      );
    }
    const seconds = Math.ceil(wait / SECOND);
    return new RateLimitError(
      "desec",
      `${what}: healthmesh holds ${kind} back to stay within deSEC's budget (${spent} used); next in ${seconds} s`,
      { retryAfterMs: seconds * SECOND },
    );
  }
}

function pause(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      cancel();
      reject(signal?.reason);
    };
    const cancel = clock.setTimer(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
