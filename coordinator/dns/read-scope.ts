/**
 * Which routers one provider round reads. A switch reads what changed: the routers whose desired value
 * is not the one last confirmed in sync. Everything is read on a full round: the first one, a recheck
 * (an operator's retry, a new leader, the nameserver watch asking) and the periodic drift check — and a
 * full round waits while the provider's API budget has no room for it beside switches.
 */
import type { ProviderRouterRow } from "../store/store.ts";
import type { DesiredTarget } from "./reconciler.ts";

/** What one round reads, and when a full round that could not run now should. */
export interface RoundPlan {
  /** Every desired router is read (a drift check): the read is a background one. */
  full: boolean;
  targets: DesiredTarget[];
  /** A full round is due but waits for the provider's budget this long (`Infinity`: it never fits). */
  fullWaitMs?: number;
}

/** The state that decides between a full and a partial round, for one provider. */
export class ReadScope {
  readonly #provider: string;
  /** Per router, the `target TTL` last confirmed served. */
  readonly #confirmed = new Map<string, string>();
  #fullDue = true;
  #lastFullAt = Number.NEGATIVE_INFINITY;

  constructor(provider: string) {
    this.#provider = provider;
  }

  /** The next round reads everything (a recheck). */
  requestFull(): void {
    this.#fullDue = true;
  }

  /** Whether a full round is asked for and has not run yet. */
  get fullDue(): boolean {
    return this.#fullDue;
  }

  /** Notes that `d` was seen served as desired. */
  confirm(d: DesiredTarget): void {
    this.#confirmed.set(d.router, this.#key(d));
  }

  /** A full round read everything at `now`. */
  fullDone(now: number): void {
    this.#fullDue = false;
    this.#lastFullAt = now;
  }

  /** Milliseconds until the next periodic drift check (null: none). */
  nextDriftIn(now: number, driftMs: number | null): number | null {
    return driftMs === null ? null : Math.max(0, this.#lastFullAt + driftMs - now);
  }

  /**
   * Plans a round: full when asked for or when the drift period has passed (and the budget has room
   * — else later, reading now only what changed); otherwise the routers not confirmed as desired.
   */
  plan(
    desired: readonly DesiredTarget[],
    state: {
      now: number;
      driftMs: number | null;
      row: (router: string) => ProviderRouterRow;
      refused: (d: DesiredTarget) => boolean;
      fullDelay: (count: number) => number;
    },
  ): RoundPlan {
    const driftDue = state.driftMs !== null && state.now >= this.#lastFullAt + state.driftMs;
    if (this.#fullDue || driftDue) {
      const wait = state.fullDelay(desired.length);
      if (wait <= 0) return { full: true, targets: [...desired] };
      // A full read that has to wait is asked for again once it fits; one that never fits is skipped
      // until the next drift period (the loop says so in its log).
      const never = !Number.isFinite(wait);
      this.#fullDue = !never;
      if (never) this.#lastFullAt = state.now;
      return { full: false, targets: this.#changed(desired, state), fullWaitMs: wait };
    }
    return { full: false, targets: this.#changed(desired, state) };
  }

  #changed(
    desired: readonly DesiredTarget[],
    state: { row: (router: string) => ProviderRouterRow; refused: (d: DesiredTarget) => boolean },
  ): DesiredTarget[] {
    return desired.filter((d) => {
      const row = state.row(d.router);
      if (row.state === "in-sync" && this.#confirmed.get(d.router) === this.#key(d)) return false;
      // Refused for good until its target or TTL changes: the next full round looks at it again.
      return !state.refused(d);
    });
  }

  #key(d: DesiredTarget): string {
    return `${d.target} ${d.ttl[this.#provider] ?? 60}`;
  }
}
