/**
 * Converges every DNS provider, each on its own, toward the desired router targets:
 * read → compare → write (one batch per provider) → verify, with backoff, jitter and `Retry-After`.
 * A provider that is down or throttled never delays another.
 */
import type { Clock } from "../../shared/clock.ts";
import type { Logger } from "../../shared/log.ts";
import type { NewEvent, ProviderRouterRow } from "../store/store.ts";
import type { DnsProvider } from "./provider.ts";
import { ProviderLoop } from "./provider-loop.ts";

/** One router the reconciler must make every provider serve. */
export interface DesiredTarget {
  service: string;
  /** Router FQDN without the trailing dot. */
  router: string;
  /** Target FQDN with the trailing dot. */
  target: string;
  /** TTL per provider name. */
  ttl: Record<string, number>;
}

/** Per-provider timing. */
export interface ProviderTiming {
  timeoutMs: number;
  maxBackoffMs: number;
}

/** Reconciler settings and world. */
export interface ReconcilerOptions {
  clock: Clock;
  log: Logger;
  timing: (provider: string) => ProviderTiming;
  /** Persists provider state and events (called after every attempt). */
  persist: (change: { events: NewEvent[]; providerStates: ProviderRouterRow[] }) => Promise<void>;
  /** Known state from before a restart. */
  initial?: ProviderRouterRow[];
  random?: () => number;
  /** How often an in-sync provider is re-read to catch hand edits. */
  driftCheckMs?: number;
  /** First retry delay; doubles per failure up to the provider's `maxBackoffMs`. */
  baseBackoffMs?: number;
  /** Longest `Retry-After` taken as a normal wait; beyond it the provider is reported as throttled out. */
  maxRetryAfterMs?: number;
  /** HA mode: rounds run only while this says so (this coordinator leads); a new leader kicks. */
  active?: () => boolean;
  /** Per provider: the API drift-check period, or null for none (its nameservers are watched instead). */
  driftPolicy?: (provider: string) => number | null | undefined;
}

/** Drives one `ProviderLoop` per provider. */
export class Reconciler {
  readonly #loops: Map<string, ProviderLoop>;
  #desired: DesiredTarget[] = [];
  /** Where each router sits in `#desired`. */
  #index = new Map<string, number>();

  readonly #options: ReconcilerOptions;
  #follow: ((provider: string) => ProviderRouterRow[] | null) | null = null;

  constructor(providers: readonly DnsProvider[], options: ReconcilerOptions) {
    // One copy shared by every loop, so a drift policy set later reaches them all.
    this.#options = { ...options };
    this.#loops = new Map(
      providers.map((p) => [p.name, new ProviderLoop(p, this.#options, () => this.#desired)]),
    );
  }

  /** Lets the nameserver watch stand in for periodic API drift reads (steady state costs no API budget). */
  setDriftPolicy(policy: (provider: string) => number | null | undefined): void {
    this.#options.driftPolicy = policy;
  }

  /** HA mode: what `states()` shows for a provider while this member runs no rounds (the leader's published view). */
  follow(source: (provider: string) => ProviderRouterRow[] | null): void {
    this.#follow = source;
  }

  /** Replaces the desired targets and starts a round on every provider at once. */
  setDesired(desired: readonly DesiredTarget[]): void {
    this.#desired = desired.map((d) => ({ ...d, ttl: { ...d.ttl } }));
    this.#index = new Map(this.#desired.map((d, i) => [d.router, i]));
    for (const loop of this.#loops.values()) {
      loop.markChanged();
      loop.kick();
    }
  }

  /**
   * Changes the desired targets of some routers (a decision's switches) and starts a round on every
   * provider at once: work in the routers that changed, not in every router. The list is replaced,
   * not edited, so a round in flight keeps the targets it started with.
   */
  updateDesired(changed: readonly DesiredTarget[]): void {
    const next = this.#desired.slice();
    for (const d of changed) {
      const copy = { ...d, ttl: { ...d.ttl } };
      const at = this.#index.get(d.router);
      if (at === undefined) {
        this.#index.set(d.router, next.length);
        next.push(copy);
      } else next[at] = copy;
    }
    this.#desired = next;
    for (const loop of this.#loops.values()) {
      loop.markChanged(changed);
      loop.kick();
    }
  }

  /**
   * Starts a round now on one provider, or all (an operator's retry, a new leader, the nameserver watch
   * asking) that reads every router, within the provider's API budget; routers refused for good are tried again.
   */
  kick(provider?: string): void {
    for (const [name, loop] of this.#loops) {
      if (provider && provider !== name) continue;
      loop.retryRefused();
      loop.recheck();
    }
  }

  /** The routers and the targets every provider must serve (the nameserver watch compares against them). */
  desired(): DesiredTarget[] {
    return this.#desired.map((d) => ({ ...d, ttl: { ...d.ttl } }));
  }

  /** The current state of every router on every provider. */
  states(): ProviderRouterRow[] {
    const follow = this.#follow && this.#options.active && !this.#options.active() ? this.#follow : null;
    return [...this.#loops].flatMap(([name, loop]) => follow?.(name) ?? loop.rows());
  }

  /** Resolves when no provider has a round in flight (tests, shutdown). */
  async idle(): Promise<void> {
    await Promise.all([...this.#loops.values()].map((loop) => loop.idle()));
  }

  /** Cancels every timer; rounds in flight finish but schedule nothing. */
  stop(): void {
    for (const loop of this.#loops.values()) loop.stop();
  }
}
