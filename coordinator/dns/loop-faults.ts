/** Pure parts of a provider loop's failure handling: how long to wait and what to say, and a call under a deadline. */
import type { Clock } from "../../shared/clock.ts";
import { DnsError, MAX_TIMER_MS, NetworkError, RateLimitError } from "./errors.ts";

/** What a failed round leads to: the wait before the next, a floor for every request, and the reason shown. */
export interface FaultPlan {
  fault: DnsError;
  wait: number;
  /** No request to this provider before this time (a `Retry-After`). */
  notBefore?: number;
  reason: string;
}

/** Plans the reaction to `error`: backoff for transient faults, `Retry-After` (clamped to the timer range) for throttling, the drift interval for permanent ones. */
export function planFault(
  provider: string,
  error: unknown,
  t: { now: number; backoff: number; driftMs: number; retryAfterCapMs: number },
): FaultPlan {
  const fault =
    error instanceof DnsError
      ? error
      : new NetworkError(
          provider,
          `Unexpected failure: ${error instanceof Error ? error.message : String(error)}`,
        );
  if (fault instanceof RateLimitError && fault.retryAfterMs !== undefined) {
    const wait = Math.min(MAX_TIMER_MS, Math.max(t.backoff, fault.retryAfterMs));
    const reason =
      fault.retryAfterMs > t.retryAfterCapMs
        ? `${fault.message}: throttled for ${Math.ceil(fault.retryAfterMs / 1000)} s, more than the ${Math.ceil(t.retryAfterCapMs / 1000)} s cap; waiting it out`
        : `${fault.message}: retrying in ${Math.ceil(wait / 1000)} s as Retry-After asks`;
    return { fault, wait, notBefore: t.now + wait, reason };
  }
  if (fault.retryable) {
    return {
      fault,
      wait: t.backoff,
      reason: `${fault.message}: retrying in ${Math.ceil(t.backoff / 1000)} s`,
    };
  }
  // A permanent fault stops nothing: the provider is read again at the drift interval.
  return {
    fault,
    wait: Math.min(MAX_TIMER_MS, t.driftMs),
    reason: `${fault.message}: read again in ${Math.ceil(t.driftMs / 1000)} s with the drift checks; fix the cause (token, zone, config)`,
  };
}

/** Runs `fn` under a deadline on `clock`; when it runs out the signal aborts the requests and the call rejects with `NetworkError`. */
export async function callWithin<T>(
  clock: Clock,
  provider: string,
  timeoutMs: number,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  let cancel = () => {};
  const timeout = new Promise<never>((_, reject) => {
    cancel = clock.setTimer(() => {
      const error = new NetworkError(provider, `No answer from ${provider} within ${timeoutMs} ms`);
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  try {
    return await Promise.race([fn(controller.signal), timeout]);
  } finally {
    cancel();
  }
}
