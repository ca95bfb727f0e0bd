/**
 * Notices DNS providers that disagree on a router for longer than a threshold and records
 * `dns.diverged` (and `dns.converged` when they agree again) through the coordinator, so the
 * episode lands in the audit log and in chat like any other event.
 */
import type { Clock } from "../../shared/clock.ts";
import type { Logger } from "../../shared/log.ts";
import type { NewEvent, ProviderRouterRow } from "../store/store.ts";

/** How long providers may disagree before it is an alert (a normal switch converges in seconds). */
export const DEFAULT_DIVERGED_AFTER_MS = 120_000;

/** What the watch runs with. */
export interface DivergenceOptions {
  /** Every router's state on every provider (the reconciler's `states()`). */
  states: () => ProviderRouterRow[];
  /** Router FQDN → service name. */
  services: ReadonlyMap<string, string>;
  /** Stores an event in the audit log (the coordinator's `recordEvent`). */
  record: (event: NewEvent) => Promise<void>;
  clock: Clock;
  log: Logger;
  thresholdMs?: number;
  checkEveryMs?: number;
  /** Routers already reported as diverged before a restart (open `dns-diverged` episodes): they get their `dns.converged`. */
  reported?: Iterable<string>;
}

/** Polls provider states on a timer; one event per divergence episode. */
export class DivergenceWatch {
  readonly #o: DivergenceOptions;
  readonly #since = new Map<string, number>();
  readonly #reported = new Set<string>();
  #cancel: (() => void) | null = null;

  constructor(options: DivergenceOptions) {
    this.#o = options;
    for (const router of options.reported ?? []) this.#reported.add(router);
  }

  /** Starts polling. */
  start(): void {
    const tick = () => {
      this.#cancel = this.#o.clock.setTimer(tick, this.#o.checkEveryMs ?? 5000);
      void this.check().catch((error: unknown) =>
        this.#o.log.error("Cannot record a DNS divergence", { error: String(error) }),
      );
    };
    this.#cancel = this.#o.clock.setTimer(tick, this.#o.checkEveryMs ?? 5000);
  }

  /** Stops polling. */
  stop(): void {
    this.#cancel?.();
    this.#cancel = null;
  }

  /** Compares the providers of every router once, recording what changed. */
  async check(): Promise<void> {
    const now = this.#o.clock.now();
    const byRouter = new Map<string, ProviderRouterRow[]>();
    for (const row of this.#o.states()) byRouter.set(row.router, [...(byRouter.get(row.router) ?? []), row]);
    const threshold = this.#o.thresholdMs ?? DEFAULT_DIVERGED_AFTER_MS;
    for (const [router, rows] of byRouter) {
      const service = this.#o.services.get(router);
      const targets = new Set(rows.map((r) => r.target ?? "(nothing)"));
      const serving = rows
        .map((r) => `${r.provider} serves ${r.target ?? "nothing"} (${r.state})`)
        .join(", ");
      if (rows.length < 2 || targets.size < 2) {
        this.#since.delete(router);
        if (this.#reported.delete(router)) {
          await this.#o.record({
            at: now,
            type: "dns.converged",
            ...(service ? { service } : {}),
            message: `DNS providers agree again on "${router}": ${serving}`,
          });
        }
        continue;
      }
      const since = this.#since.get(router) ?? now;
      this.#since.set(router, since);
      if (now - since >= threshold && !this.#reported.has(router)) {
        this.#reported.add(router);
        await this.#o.record({
          at: now,
          type: "dns.diverged",
          ...(service ? { service } : {}),
          message: `DNS providers disagree on "${router}" for ${Math.round((now - since) / 1000)} s: ${serving}`,
        });
      }
    }
  }
}
