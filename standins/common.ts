/** Shared parts of the loopback API stand-ins: sliding-window limits, request counters, faults, serving. */
import type { AddressInfo } from "node:net";
import { type ServerType, serve } from "@hono/node-server";
import type { Hono } from "hono";
import { type Clock, systemClock } from "../shared/clock.ts";

/** One rate window: at most `limit` requests per `windowMs`. */
export interface RateWindow {
  limit: number;
  windowMs: number;
}

/** Sliding-window limits, all enforced at once; only admitted requests are recorded (as deSEC does). */
export class SlidingLimiter {
  readonly #windows: readonly RateWindow[];
  readonly #history = new Map<string, number[]>();

  constructor(windows: readonly RateWindow[]) {
    this.#windows = windows;
  }

  /** Admits a request under `key` at `now`, or returns how many ms until it would be admitted. */
  take(key: string, now: number): number | null {
    const longest = Math.max(0, ...this.#windows.map((w) => w.windowMs));
    const history = (this.#history.get(key) ?? []).filter((at) => at > now - longest);
    let wait = 0;
    for (const w of this.#windows) {
      const inWindow = history.filter((at) => at > now - w.windowMs);
      if (inWindow.length >= w.limit) {
        const oldest = inWindow[inWindow.length - w.limit] ?? now;
        wait = Math.max(wait, oldest + w.windowMs - now);
      }
    }
    if (wait > 0) {
      this.#history.set(key, history);
      return wait;
    }
    history.push(now);
    this.#history.set(key, history);
    return null;
  }
}

/**
 * An injected fault: answer every request with this status (in the provider's own error shape), with a
 * recorded answer verbatim (`body`, e.g. deSEC's nginx HTML 429 page or a success without `result`), or
 * hold every request until released.
 */
export type Fault =
  | { status: number }
  | { status: number; body: string; contentType?: string; headers?: Record<string, string> }
  | { hang: true }
  | null;

/** The verbatim answer of a `{status, body}` fault, or null for any other fault. */
export function recordedAnswer(fault: Fault): Response | null {
  if (!fault || !("body" in fault)) return null;
  return new Response(fault.body, {
    status: fault.status,
    headers: { "content-type": fault.contentType ?? "application/json", ...fault.headers },
  });
}

/** Counts requests per `METHOD /route/pattern`, including refused ones. */
export class RequestCounter {
  readonly counts = new Map<string, number>();
  /** HA: requests that carried `x-healthmesh-fence` (leader revision/decision), in the order they were served. */
  readonly fenced: { label: string; fence: string; at: number }[] = [];

  /** Notes the fence header of a request about to be served (`at`: wall-clock ms, for benchmarks). */
  fence(label: string, value: string | undefined): void {
    if (value) this.fenced.push({ label, fence: value, at: Date.now() });
  }

  hit(label: string): void {
    this.counts.set(label, (this.counts.get(label) ?? 0) + 1);
  }

  /** Requests to one `METHOD /route`, or with a method only, every route of that method. */
  get(method: string, route?: string): number {
    let n = 0;
    for (const [label, count] of this.counts) {
      const [m, r] = label.split(" ");
      if (m === method && (route === undefined || r === route)) n += count;
    }
    return n;
  }

  /** Every request counted. */
  total(): number {
    return [...this.counts.values()].reduce((a, b) => a + b, 0);
  }

  reset(): void {
    this.counts.clear();
    this.fenced.length = 0;
  }
}

/** A place to park hanging requests; `release()` lets them fail. */
export class Hangs {
  #waiting: (() => void)[] = [];

  wait(): Promise<void> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    for (const resolve of this.#waiting.splice(0)) resolve();
  }
}

/** Options every stand-in shares. */
export interface StandinBase {
  /** Time for rate limits and timestamps; defaults to the system clock. */
  clock?: Clock;
}

/** The clock a stand-in uses. */
export function clockOf(options: StandinBase): Clock {
  return options.clock ?? systemClock();
}

/** A stand-in served on 127.0.0.1 with an ephemeral port. */
export interface ServedStandin {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** Closes the listener and every connection: clients now get "connection refused". */
  down(): Promise<void>;
  /** Listens again on the same port after `down()`. */
  up(): Promise<void>;
  close(): Promise<void>;
}

/** Serves a Hono app on 127.0.0.1:0 with down/up to simulate a refused connection. */
export async function serveStandin(app: Hono, onClose: () => void): Promise<ServedStandin> {
  const listen = (port: number) =>
    new Promise<ServerType>((resolve) => {
      const server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port }, () => resolve(server));
    });
  let server: ServerType | null = await listen(0);
  const port = (server.address() as AddressInfo).port; // a TCP listener always has an AddressInfo
  const stop = async () => {
    const s = server;
    server = null;
    if (!s) return;
    onClose();
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      if ("closeAllConnections" in s) s.closeAllConnections();
    });
  };
  return {
    url: `http://127.0.0.1:${port}`,
    down: stop,
    async up() {
      if (!server) server = await listen(port);
    },
    close: stop,
  };
}
