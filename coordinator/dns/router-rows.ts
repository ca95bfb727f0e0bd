/** One provider's per-router state: the rows `/v1/status` shows, which faults were already raised, which routers were refused for good. */
import type { Clock } from "../../shared/clock.ts";
import type { NewEvent, ProviderRouterRow } from "../store/store.ts";

/** The rows of one provider, keyed by router. */
export class RouterRows {
  readonly #provider: string;
  readonly #clock: Clock;
  readonly #rows = new Map<string, ProviderRouterRow>();
  /** Per router, the fault already raised as `dns.error` in the current failure episode (until it is in sync). */
  readonly #reported = new Map<string, string>();
  /** Routers the provider refused for good (bad TTL, a conflict): not written again until their target or TTL changes or an operator retries. */
  readonly refused = new Map<string, { target: string; ttl: number }>();

  constructor(provider: string, clock: Clock, initial: readonly ProviderRouterRow[] = []) {
    this.#provider = provider;
    this.#clock = clock;
    for (const row of initial) {
      if (row.provider !== provider) continue;
      this.#rows.set(row.router, { ...row });
      if (row.state === "error" && row.error !== undefined) this.#reported.set(row.router, row.error);
    }
  }

  /** The row of a router (a `pending` one with no target when it was never seen). */
  get(router: string): ProviderRouterRow {
    let row = this.#rows.get(router);
    if (!row) {
      row = {
        provider: this.#provider,
        router,
        state: "pending",
        target: null,
        updatedAt: this.#clock.now(),
      };
      this.#rows.set(router, row);
    }
    return row;
  }

  /** Updates a row and marks it touched; a router in sync ends its failure episode and any refusal. */
  set(router: string, patch: Partial<ProviderRouterRow>, touched: Set<string>): void {
    const next: ProviderRouterRow = { ...this.get(router), ...patch, updatedAt: this.#clock.now() };
    // A failure's text stays visible while its retry is in flight, until the router is in sync again.
    if (patch.state === "in-sync") {
      delete next.error;
      this.#reported.delete(router);
      this.refused.delete(router);
    }
    this.#rows.set(router, next);
    touched.add(router);
  }

  /** Adds `event` (a `dns.error`) unless `fault` was already raised for this router in this episode. */
  reportOnce(router: string, fault: string, event: NewEvent, events: NewEvent[]): void {
    if (sameFault(this.#reported.get(router), fault)) return;
    this.#reported.set(router, fault);
    events.push(event);
  }

  /** Marks `pending` every in-sync row whose target is not the desired one. */
  unsettleMoved(desired: readonly { router: string; target: string }[], touched: Set<string>): void {
    for (const d of desired) {
      const row = this.get(d.router);
      if (row.state === "in-sync" && row.target !== d.target)
        this.set(d.router, { state: "pending" }, touched);
    }
  }
}

/** Whether `reported` (a fault's message, or a stored row's error that starts with it) is this fault again. */
function sameFault(reported: string | undefined, message: string): boolean {
  return reported !== undefined && (reported === message || reported.startsWith(`${message}: `));
}
