/**
 * A probe's own limits: how many checks may be in flight at once, and (on Workers) how many
 * subrequests one invocation may make. A check that has to wait waits *before* its timer starts; a
 * check past the subrequest budget is reported as not checked, never as failed. Web APIs only.
 */
import type { Skipped } from "../shared/protocol.ts";

/** The limits a runtime imposes on a probe. */
export interface ProbeLimits {
  /** Checks in flight at once. */
  concurrency: number;
  /** Subrequests (fetches) one invocation may make; absent where the runtime has no such cap. */
  subrequests?: number;
}

/** Cloudflare Workers, free plan: 6 simultaneous open connections, 50 subrequests per invocation. */
export const WORKERS_LIMITS: ProbeLimits = { concurrency: 6, subrequests: 50 };

/** Node and Deno: 10,000 checks of 100 ms in 4 s, with sockets well under the usual 1,024-descriptor soft limit. */
export const SERVER_LIMITS: ProbeLimits = { concurrency: 256 };

/**
 * Reads `HEALTHMESH_PROBE_CONCURRENCY` and `HEALTHMESH_PROBE_SUBREQUESTS` (e.g. 1000 on a paid
 * Workers plan) over a runtime's defaults; throws naming a variable that is not a positive integer.
 */
export function limitsFromEnv(env: (name: string) => string | undefined, defaults: ProbeLimits): ProbeLimits {
  const read = (name: string): number | undefined => {
    const raw = env(name)?.trim();
    if (raw === undefined || raw === "") return undefined;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1)
      throw new Error(`Invalid ${name}: "${raw}" is not a positive integer`);
    return value;
  };
  const concurrency = read("HEALTHMESH_PROBE_CONCURRENCY") ?? defaults.concurrency;
  const subrequests = read("HEALTHMESH_PROBE_SUBREQUESTS") ?? defaults.subrequests;
  return subrequests === undefined ? { concurrency } : { concurrency, subrequests };
}

/** What a slot request gives: a release function once a slot is free, or why none will be. */
export type Slot = { release: () => void } | { skipped: Skipped };

/** Connection slots and the subrequest budget of one invocation (or of a long-lived probe). */
export class CheckSlots {
  readonly #concurrency: number;
  #budget: number;
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(limits: ProbeLimits) {
    this.#concurrency = Math.max(1, limits.concurrency);
    this.#budget = limits.subrequests ?? Number.POSITIVE_INFINITY;
  }

  /** Subrequests left in this invocation's budget. */
  get remaining(): number {
    return this.#budget;
  }

  /** Checks in flight now. */
  get active(): number {
    return this.#active;
  }

  /** Sets aside `n` subrequests (e.g. for pushing the report) that checks may not use. */
  reserve(n: number): void {
    this.#budget = Math.max(0, this.#budget - n);
  }

  /**
   * Takes one subrequest and a connection slot: at once (no promise) when one is free, so a check's
   * timer can start in the same tick; else a promise of the next free slot. A spent budget answers
   * `skipped` at once.
   */
  take(): Slot | Promise<Slot> {
    if (this.#budget < 1) return { skipped: "subrequest-cap" };
    this.#budget--;
    if (this.#active < this.#concurrency) return this.#grant();
    return new Promise<Slot>((resolve) => this.#waiting.push(() => resolve(this.#grant())));
  }

  #grant(): Slot {
    this.#active++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#active--;
        this.#waiting.shift()?.();
      },
    };
  }
}
