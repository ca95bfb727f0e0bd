/**
 * Ends `dns-error` episodes: when a provider that failed a write for a service's router is seen in
 * sync again, records `dns.recovered` through the coordinator (which resolves the page). It reads
 * the open episodes from the episode book, so an episode opened before a restart still ends.
 */
import type { Clock } from "../../shared/clock.ts";
import type { Logger } from "../../shared/log.ts";
import type { NewEvent, ProviderRouterRow } from "../store/store.ts";
import type { EpisodeChange } from "./episodes.ts";

/** What the watch runs with. */
export interface DnsRecoveryOptions {
  /** The open episodes (the episode book's `open`). */
  open: () => EpisodeChange[];
  /** Every router's state on every provider (the reconciler's `states()`). */
  states: () => ProviderRouterRow[];
  /** Service name → its router FQDN. */
  routers: ReadonlyMap<string, string>;
  /** Stores an event in the audit log (the coordinator's `recordEvent`). */
  record: (event: NewEvent) => Promise<void>;
  clock: Clock;
  log: Logger;
}

/** Checks provider states when asked (alerts.ts runs it every 5 s); one `dns.recovered` per ended `dns-error` episode. */
export class DnsRecoveryWatch {
  readonly #o: DnsRecoveryOptions;
  readonly #recording = new Set<string>();

  constructor(options: DnsRecoveryOptions) {
    this.#o = options;
  }

  /** Looks at every open `dns-error` episode once, recording the recovered ones. */
  async check(): Promise<void> {
    const rows = this.#o.states();
    for (const episode of this.#o.open()) {
      if (episode.kind !== "dns-error" || !episode.service || !episode.provider) continue;
      if (this.#recording.has(episode.id)) continue;
      const router = this.#o.routers.get(episode.service);
      const row = rows.find((r) => r.router === router && r.provider === episode.provider);
      if (row?.state !== "in-sync") continue;
      this.#recording.add(episode.id);
      try {
        await this.#o.record({
          at: this.#o.clock.now(),
          type: "dns.recovered",
          service: episode.service,
          provider: episode.provider,
          message: `${episode.provider} serves "${row.target ?? "nothing"}" for "${row.router}" again: the DNS error is over`,
        });
      } finally {
        this.#recording.delete(episode.id);
      }
    }
  }
}
