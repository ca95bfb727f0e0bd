import { describe, expect, it } from "vitest";
import { DeliveryError, request } from "../../coordinator/alerts/sender.ts";
import { ManualClock } from "../../shared/clock.ts";

/** A fetch that never answers, but gives up when its signal aborts, as real fetch does. */
const hangingFetch: typeof fetch = (_url, init) =>
  new Promise((_resolve, reject) => {
    init?.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
  });

describe("alert request timeout", () => {
  it("gives up on the injected clock, as a retryable DeliveryError", async () => {
    const clock = new ManualClock();
    const sent = request(
      "ops",
      "http://127.0.0.1:9/hook",
      { body: "{}" },
      { fetch: hangingFetch, clock, timeoutMs: 5000 },
    );
    const outcome = sent.then(
      () => "answered",
      (error: unknown) => error,
    );
    await clock.advance(4999);
    expect(clock.pending).toBe(1);
    await clock.advance(1);
    const error = await outcome;
    expect(error).toBeInstanceOf(DeliveryError);
    expect(error).toMatchObject({ retryable: true, message: 'Cannot reach "ops": no answer within 5000 ms' });
    expect(clock.pending).toBe(0);
  });
});
