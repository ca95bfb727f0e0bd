/**
 * A `fetch` that behaves like an edge runtime's, on a ManualClock: a fixed number of connection slots
 * (a request past them waits in the runtime's own queue, as on Workers), a subrequest cap per
 * invocation (workerd throws "Too many subrequests."), and origins that answer after a latency.
 */
import type { ManualClock } from "../../shared/clock.ts";

/** How the emulated runtime and its origins behave. */
export interface RuntimeFakeOptions {
  clock: ManualClock;
  /** Simultaneous open connections (Workers: 6). */
  connections: number;
  /** Subrequests per invocation (Workers free plan: 50); absent means no cap. */
  subrequests?: number;
  /** How long an origin takes to answer, per URL. */
  latencyMs: (url: string) => number;
  /** The origin's answer, per URL (default 200 "ok"). */
  answer?: (url: string) => Response;
}

/** The emulated runtime: `fetch`, a way to start a new invocation, and what it saw. */
export interface RuntimeFake {
  fetch: typeof fetch;
  /** Starts a new invocation: the subrequest count starts again from 0. */
  invocation(): void;
  /** The most requests that were on the wire at once. */
  readonly peak: number;
  /** Subrequests made in the current invocation. */
  readonly made: number;
}

/** Builds the emulated runtime. */
export function runtimeFake(options: RuntimeFakeOptions): RuntimeFake {
  let made = 0;
  let open = 0;
  let peak = 0;
  const queue: (() => void)[] = [];
  const fake = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    made++;
    if (options.subrequests !== undefined && made > options.subrequests)
      throw new Error("Too many subrequests.");
    if (open >= options.connections) await new Promise<void>((resolve) => queue.push(resolve));
    open++;
    peak = Math.max(peak, open);
    try {
      await new Promise<void>((resolve, reject) => {
        const cancel = options.clock.setTimer(resolve, options.latencyMs(request.url));
        request.signal.addEventListener("abort", () => {
          cancel();
          reject(request.signal.reason);
        });
      });
      return options.answer?.(request.url) ?? new Response("ok");
    } finally {
      open--;
      queue.shift()?.();
    }
  };
  return {
    fetch: fake,
    invocation() {
      made = 0;
    },
    get peak() {
      return peak;
    },
    get made() {
      return made;
    },
  };
}

/** Advances the clock in steps until `promise` settles (at most `limitMs` of simulated time). */
export async function drive<T>(clock: ManualClock, promise: Promise<T>, stepMs = 50, limitMs = 120_000) {
  let settled = false;
  const watched = promise.finally(() => {
    settled = true;
  });
  const end = clock.now() + limitMs;
  while (!settled && clock.now() < end) {
    // WebCrypto (signing) answers on the event loop in real time: let it run before time moves on.
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
    if (!settled) await clock.advance(stepMs);
  }
  return watched;
}
