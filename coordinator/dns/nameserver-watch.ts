/**
 * What the world sees (CONTRACT §4a): asks every provider's own authoritative nameservers what they
 * serve for every router, right after each switch (then every `fastMs` until they all serve the
 * decision) and every `intervalMs` in the steady state. An API that accepted a write whose nameservers
 * still serve the old answer `lagAfterMs` later is `dns.lagging` (and `dns.lagging.cleared` once they
 * catch up). A confirmed router that its nameservers serve differently past the bound asks the
 * reconciler for one API read of that provider (drift found by DNS, not by polling the API).
 */
import type { Clock } from "../../shared/clock.ts";
import type { Logger } from "../../shared/log.ts";
import type { NewEvent, ProviderRouterRow } from "../store/store.ts";
import {
  formatAddress,
  type NameserverAddress,
  type NameserverClient,
  type QueryType,
} from "./nameserver.ts";
import {
  describeValues,
  expectedValues,
  isAddressTarget,
  type ProviderNameservers,
  routerValues,
  type ServerAnswer,
  type ServingState,
  sameValues,
} from "./nameserver-serving.ts";
import type { DesiredTarget } from "./reconciler.ts";

export type { ProviderNameservers, ServerAnswer, ServingState } from "./nameserver-serving.ts";

/** One provider whose nameservers are watched. */
export interface WatchedProvider {
  name: string;
  /** Its nameservers' addresses (resolved, cached by the caller). Throws when they cannot be found. */
  servers: () => Promise<NameserverAddress[]>;
}

/** What the watch runs with. */
export interface NameserverWatchOptions {
  providers: readonly WatchedProvider[];
  client: NameserverClient;
  /** The routers and their decided targets (the reconciler's desired state). */
  desired: () => readonly DesiredTarget[];
  /** What each provider's API was last seen serving (the reconciler's `states()`). */
  apiStates: () => readonly ProviderRouterRow[];
  /** Stores an event (the coordinator's `recordEvent`). */
  record: (event: NewEvent) => Promise<void>;
  /** Asks for an API read of one provider: its nameservers serve something else than it confirmed. */
  recheck?: (provider: string) => void;
  clock: Clock;
  log: Logger;
  intervalMs: number;
  lagAfterMs: number;
  timeoutMs: number;
  /** Check period while some nameserver does not serve the decision yet (default 1 s). */
  fastMs?: number;
}

const key = (provider: string, router: string) => `${provider}\u0000${router}`;

/** Polls the providers' nameservers on a timer; see the module comment. */
export class NameserverWatch {
  readonly #o: NameserverWatchOptions;
  readonly #serving = new Map<string, ServingState>();
  readonly #providers = new Map<string, ProviderNameservers>();
  /** provider|router|target → when the API was first seen serving that target. */
  readonly #acceptedAt = new Map<string, number>();
  readonly #lagging = new Set<string>();
  readonly #rechecked = new Map<string, number>();
  /** Per provider: whether its nameservers answered for every router at the last check. */
  readonly #healthy = new Map<string, boolean>();
  /** provider|router → when its nameservers were first seen serving something else than the decision. */
  readonly #staleSince = new Map<string, number>();
  #cancel: (() => void) | null = null;
  #running: Promise<void> | null = null;
  #again = false;
  #stopped = false;

  constructor(options: NameserverWatchOptions) {
    this.#o = options;
    for (const p of options.providers)
      this.#providers.set(p.name, { servers: [], queryErrors: 0, queries: 0 });
  }

  /** Starts the periodic checks (the first one at once). */
  start(): void {
    this.kick();
  }

  /** Checks now (after a switch); a check in flight is followed by another. */
  kick(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#cancel?.();
    this.#cancel = null;
    this.#running = this.check()
      .catch((error: unknown) => this.#o.log.error("Nameserver check failed", { error: String(error) }))
      .finally(() => {
        this.#running = null;
        if (this.#again) {
          this.#again = false;
          this.kick();
          return;
        }
        this.#schedule();
      });
  }

  /** Stops the timer; a check in flight finishes. */
  stop(): void {
    this.#stopped = true;
    this.#cancel?.();
    this.#cancel = null;
  }

  /** Resolves when no check is in flight. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** What each provider's nameservers serve for each router, as of the last check. */
  serving(): ServingState[] {
    return [...this.#serving.values()].map((s) => ({ ...s, servers: s.servers.map((a) => ({ ...a })) }));
  }

  /** Each watched provider's nameservers and question counters. */
  providers(): Record<string, ProviderNameservers> {
    return Object.fromEntries(
      [...this.#providers].map(([name, p]) => [name, { ...p, servers: [...p.servers] }]),
    );
  }

  /** Whether this provider's nameservers answered for every router at the last check: drift is then seen over DNS. */
  covers(provider: string): boolean {
    return this.#healthy.get(provider) === true;
  }

  /** Whether every watched provider's nameservers served the decided target for every router at the last check. */
  settled(): boolean {
    const desired = this.#o.desired();
    return this.#o.providers.every((p) =>
      desired.every((d) => this.#serving.get(key(p.name, d.router))?.matches === true),
    );
  }

  /** Asks every nameserver of every provider about every router once, and records what changed. */
  async check(): Promise<void> {
    const desired = [...this.#o.desired()];
    const api = this.#o.apiStates();
    await Promise.all(this.#o.providers.map((p) => this.#checkProvider(p, desired, api)));
  }

  #schedule(): void {
    if (this.#stopped) return;
    // Fast only while a nameserver answers with something else: an unreachable one is not worth hammering.
    const waiting = [...this.#serving.values()].some((s) => !s.matches && s.servers.some((a) => a.values));
    const ms = waiting ? (this.#o.fastMs ?? 1000) : this.#o.intervalMs;
    this.#cancel = this.#o.clock.setTimer(() => {
      this.#cancel = null;
      this.kick();
    }, ms);
  }

  async #checkProvider(
    provider: WatchedProvider,
    desired: DesiredTarget[],
    api: readonly ProviderRouterRow[],
  ): Promise<void> {
    const counters = this.#providers.get(provider.name) ?? { servers: [], queryErrors: 0, queries: 0 };
    this.#providers.set(provider.name, counters);
    let servers: NameserverAddress[];
    try {
      servers = await provider.servers();
      counters.servers = servers.map(formatAddress);
      delete counters.error;
    } catch (error) {
      counters.error = `Cannot find the nameservers of ${provider.name}: ${error instanceof Error ? error.message : String(error)}`;
      counters.queryErrors++;
      this.#setHealthy(provider.name, false);
      return;
    }
    const answered = await Promise.all(
      desired.map(async (d) => {
        const answers = await Promise.all(servers.map((server) => this.#ask(server, d, counters)));
        const row = api.find((r) => r.provider === provider.name && r.router === d.router);
        await this.#update(provider.name, d, answers, row);
        return answers.some((a) => a.values !== undefined);
      }),
    );
    this.#setHealthy(provider.name, answered.every(Boolean));
  }

  async #ask(
    server: NameserverAddress,
    d: DesiredTarget,
    counters: ProviderNameservers,
  ): Promise<ServerAnswer> {
    const where = formatAddress(server);
    // An address router (CONTRACT §3) is an A/AAAA pair: both questions, one merged answer.
    const types: QueryType[] = isAddressTarget(d.target) ? ["A", "AAAA"] : ["CNAME"];
    counters.queries += types.length;
    try {
      const parts = await Promise.all(
        types.map((type) =>
          this.#o.client.query(server, { name: d.router, type }, { timeoutMs: this.#o.timeoutMs }),
        ),
      );
      const failed = parts.find((p) => p.rcode !== "NOERROR" && p.rcode !== "NXDOMAIN");
      if (failed) {
        counters.queryErrors++;
        return { server: where, rcode: failed.rcode, error: `${where} answered ${failed.rcode}` };
      }
      const answer = { rcode: parts[0]?.rcode ?? "NOERROR", answers: parts.flatMap((p) => p.answers) };
      const owner = `${d.router.toLowerCase().replace(/\.$/, "")}.`;
      const ttl = answer.answers.find((a) => a.name === owner)?.ttl;
      return {
        server: where,
        rcode: answer.rcode,
        values: routerValues(answer.answers, d.router),
        ...(ttl !== undefined ? { ttl } : {}),
      };
    } catch (error) {
      counters.queryErrors++;
      return { server: where, error: error instanceof Error ? error.message : String(error) };
    }
  }

  async #update(
    provider: string,
    d: DesiredTarget,
    servers: ServerAnswer[],
    api: ProviderRouterRow | undefined,
  ): Promise<void> {
    const now = this.#o.clock.now();
    const k = key(provider, d.router);
    const answered = servers.filter((s) => s.values !== undefined);
    const texts = new Set(answered.map((s) => (s.values ?? []).join(" ")));
    const values = answered.length > 0 && texts.size === 1 ? (answered[0]?.values ?? []) : null;
    const want = expectedValues(d.target);
    const matches = answered.length > 0 && answered.every((s) => sameValues(s.values ?? [], want));
    const acceptedKey = `${k}\u0000${d.target}`;
    const accepted = api?.state === "in-sync" && api.target === d.target;
    if (!accepted) this.#acceptedAt.delete(acceptedKey);
    else if (!this.#acceptedAt.has(acceptedKey)) this.#acceptedAt.set(acceptedKey, now);
    const since = this.#acceptedAt.get(acceptedKey);
    const stale = answered.filter((s) => !sameValues(s.values ?? [], want));
    if (stale.length === 0) this.#staleSince.delete(k);
    else if (!this.#staleSince.has(k)) this.#staleSince.set(k, now);
    const overdue = accepted && since !== undefined && stale.length > 0 && now - since >= this.#o.lagAfterMs;
    // The API must say so again after the nameservers were seen stale: else it is a hand edit the API shows too.
    const reconfirmed = api !== undefined && api.updatedAt > (this.#staleSince.get(k) ?? now);
    if (overdue && !reconfirmed) this.#askForRecheck(provider, now);
    const ttl = d.ttl[provider];
    // A TTL edited by hand shows over DNS too (Cloudflare's automatic TTL 1 is served as 300: not comparable).
    const ttlDrift =
      accepted &&
      matches &&
      ttl !== undefined &&
      ttl !== 1 &&
      answered.some((a) => a.ttl !== undefined && a.ttl !== ttl);
    if (ttlDrift && since !== undefined && now - since >= this.#o.lagAfterMs)
      this.#askForRecheck(provider, now);
    const lagging = overdue && reconfirmed;
    this.#serving.set(k, { provider, router: d.router, values, matches, lagging, checkedAt: now, servers });
    if (this.#stopped) return; // a check that outlived stop() records nothing: the store may be closed
    if (lagging && !this.#lagging.has(k)) {
      this.#lagging.add(k);
      const what = stale.map((s) => `${s.server} serves ${describeValues(s.values ?? [])}`).join(", ");
      await this.#o.record({
        at: now,
        type: "dns.lagging",
        service: d.service,
        provider,
        message: `Nameservers of ${provider} still serve the old answer for "${d.router}" ${Math.round((now - (since ?? now)) / 1000)} s after its API accepted "${d.target}": ${what}`,
      });
    } else if (matches && this.#lagging.delete(k)) {
      await this.#o.record({
        at: now,
        type: "dns.lagging.cleared",
        service: d.service,
        provider,
        message: `Nameservers of ${provider} now serve "${d.target}" for "${d.router}"`,
      });
    }
  }

  #setHealthy(provider: string, healthy: boolean): void {
    const was = this.#healthy.get(provider);
    this.#healthy.set(provider, healthy);
    // Losing sight of the nameservers hands drift checks back to the API: one round re-arms its timer.
    if (was === true && !healthy) this.#o.recheck?.(provider);
  }

  /** A confirmed target its nameservers do not serve may be a hand edit: one API read, at most once an interval. */
  #askForRecheck(provider: string, now: number): void {
    const last = this.#rechecked.get(provider);
    if (last !== undefined && now - last < this.#o.intervalMs) return;
    this.#rechecked.set(provider, now);
    this.#o.recheck?.(provider);
  }
}
