/**
 * The coordinator's service book: each configured service's decided state (live path, mode, episode
 * flags), the router it owns, and the targets the DNS reconciler must converge on.
 */
import type { Config, ServiceConfig } from "../shared/config-schema.ts";
import type { Assignments, Endpoint } from "../shared/protocol.ts";
import type { DnsProvider } from "./dns/provider.ts";
import type { DesiredTarget } from "./dns/reconciler.ts";
import { initialState, type ServiceState } from "./engine.ts";
import { sameState } from "./round.ts";
import type { DesiredRouter } from "./store/store.ts";

/** An operator action was refused: unknown service (404) or a state that forbids it (409). */
export class ActionError extends Error {
  constructor(
    readonly status: 404 | 409,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ActionError";
  }
}

type ProviderName = "cloudflare" | "desec" | "powerdns" | "memory";

/** Every configured service's state, in config order. */
export class ServiceBook {
  readonly #config: Config;
  readonly #providers: readonly DnsProvider[];
  readonly #byName: Map<string, ServiceConfig>;
  readonly #states = new Map<string, ServiceState>();
  /**
   * Services a round must look at whatever their votes do: state set by anything but a round (start,
   * operator verbs, another member), and services on the secondary, whose fail-back time can bring
   * due. Any other service's round with unchanged votes would change nothing.
   */
  readonly #unsettled = new Set<string>();
  readonly #onSecondary = new Set<string>();

  constructor(config: Config, providers: readonly DnsProvider[]) {
    this.#config = config;
    this.#providers = providers;
    this.#byName = new Map(config.services.map((svc) => [svc.name, svc]));
  }

  /** Takes the stored states; a configured service without one (or a field stored before it existed) gets the initial value. */
  load(stored: readonly ServiceState[]): ServiceState[] {
    const byName = new Map(stored.map((s) => [s.name, s]));
    const states = this.#config.services.map((svc) => ({
      ...initialState(svc.name),
      ...byName.get(svc.name),
    }));
    for (const state of states) this.#put(state, true);
    return states;
  }

  /** The state of one service (throws `ActionError` 404 when unknown). */
  state(name: string): ServiceState {
    const state = this.#states.get(name);
    if (!state) throw new ActionError(404, "not_found", `Unknown service "${name}"`);
    return state;
  }

  /** The config of one service (throws `ActionError` 404 when unknown). */
  config(name: string): ServiceConfig {
    const svc = this.#byName.get(name);
    if (!svc) throw new ActionError(404, "not_found", `Unknown service "${name}"`);
    return svc;
  }

  /** Every service's state, in config order. */
  all(): ServiceState[] {
    return [...this.#states.values()];
  }

  /** Takes stored states: a round's (`decided`), or an operator verb's (a round must see them next). */
  set(states: readonly ServiceState[], how: "decided" | "set" = "set"): void {
    for (const state of states) this.#put(state, how === "set");
  }

  /** The services a round must decide whatever their votes (see `#unsettled`). */
  mustDecide(): Set<string> {
    return new Set([...this.#unsettled, ...this.#onSecondary]);
  }

  /** A round decided for these services. */
  settle(names: Iterable<string>): void {
    for (const name of names) this.#unsettled.delete(name);
  }

  #put(state: ServiceState, unsettled: boolean): void {
    this.#states.set(state.name, state);
    if (unsettled) this.#unsettled.add(state.name);
    if (state.active === "secondary") this.#onSecondary.add(state.name);
    else this.#onSecondary.delete(state.name);
  }

  /** Takes states another coordinator recorded (HA ledger); whether any differed from this book's. */
  adopt(states: readonly ServiceState[]): boolean {
    let changed = false;
    for (const adopted of states) {
      // A ledger entry written before a field existed gets that field's initial value.
      const next = { ...initialState(adopted.name), ...adopted };
      const current = this.#states.get(next.name);
      if (!current || sameState(current, next)) continue;
      this.#put(next, true);
      changed = true;
    }
    return changed;
  }

  /** The router FQDN (no trailing dot) of a service. */
  routerName(svc: ServiceConfig): string {
    return svc.router === "@" ? this.#config.zone : `${svc.router}.${this.#config.zone}`;
  }

  /** The stored row of a service's desired router target: its live path, or `active` when given. */
  desiredRow(svc: ServiceConfig, now: number, active?: Endpoint): DesiredRouter {
    const endpoint = active ?? this.#states.get(svc.name)?.active ?? "primary";
    return { service: svc.name, router: this.routerName(svc), target: svc[endpoint].target, decidedAt: now };
  }

  /** What every router must point at now, with each provider's TTL. */
  desiredTargets(): DesiredTarget[] {
    return this.#config.services.map((svc) => this.desiredTarget(svc));
  }

  /** What one service's router must point at now, with each provider's TTL. */
  desiredTarget(svc: ServiceConfig): DesiredTarget {
    const state = this.state(svc.name);
    const ttl: Record<string, number> = {};
    for (const provider of this.#providers) {
      const override = svc[provider.name as ProviderName]; // absent for unknown names
      ttl[provider.name] = override?.ttl ?? svc.ttl;
    }
    return { service: svc.name, router: this.routerName(svc), target: svc[state.active].target, ttl };
  }
}

/** The checks a probe runs, in wire form. */
export function assignmentsFor(config: Config, probeId: string): Assignments {
  const checks = config.services.flatMap((svc) =>
    (["primary", "secondary"] as const).map((endpoint) => {
      const check = svc[endpoint].check;
      return {
        service: svc.name,
        endpoint,
        url: check.url,
        expectStatus: check.expectStatus,
        timeoutMs: check.timeout,
        ...(check.bodyContains !== undefined ? { bodyContains: check.bodyContains } : {}),
        ...(check.degradedAfter !== undefined ? { degradedAfterMs: check.degradedAfter } : {}),
      };
    }),
  );
  return { probe: probeId, intervalMs: config.probes.interval, checks, canaries: config.probes.canaries };
}
