/** One provider's reconcile loop: rounds of read → compare → write → verify, with backoff, `Retry-After` and drift checks. */
import type { NewEvent, ProviderRouterRow } from "../store/store.ts";
import { callWithin, planFault } from "./loop-faults.ts";
import type { DnsProvider, RouterChange, RouterRecord } from "./provider.ts";
import type { DesiredTarget, ReconcilerOptions } from "./reconciler.ts";
import { describeServed, judge, ownPart, servedAsWritten } from "./router-compare.ts";
import { RouterRows } from "./router-rows.ts";
import { type WriteOutcome, writeIsolating } from "./router-write.ts";

/** Converges one provider toward the desired targets; never waits on another provider. */
export class ProviderLoop {
  readonly #provider: DnsProvider;
  readonly #options: ReconcilerOptions;
  readonly #desired: () => DesiredTarget[];
  readonly #rows: RouterRows;
  #cancelTimer: (() => void) | null = null;
  #inFlight: Promise<void> | null = null;
  /** A delay asked for while a round was in flight; applied when it ends. */
  #after: number | null = null;
  /** No request before this time (a provider's `Retry-After`), whatever kicks the loop. */
  #notBefore = 0;
  #failures = 0;
  #stopped = false;

  constructor(provider: DnsProvider, options: ReconcilerOptions, desired: () => DesiredTarget[]) {
    this.#provider = provider;
    this.#options = options;
    this.#desired = desired;
    this.#rows = new RouterRows(provider.name, options.clock, options.initial);
  }

  rows(): ProviderRouterRow[] {
    return this.#desired().map((d) => ({ ...this.#rows.get(d.router) }));
  }

  /** Marks in-sync routers whose desired target moved as `pending`, so status shows it before any answer. */
  markChanged(): void {
    const touched = new Set<string>();
    this.#unsettleMoved(touched);
    if (touched.size > 0) void this.#persist([], touched);
  }

  #unsettleMoved(touched: Set<string>): void {
    this.#rows.unsettleMoved(this.#desired(), touched);
  }

  kick(): void {
    if (this.#stopped) return;
    this.#failures = 0;
    this.#schedule(0);
  }

  /** An operator's retry: routers refused for good are written again on the next round. */
  retryRefused(): void {
    this.#rows.refused.clear();
  }

  async idle(): Promise<void> {
    while (this.#inFlight) await this.#inFlight;
  }

  stop(): void {
    this.#stopped = true;
    this.#cancelTimer?.();
    this.#cancelTimer = null;
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    if (this.#inFlight) {
      this.#after = this.#after === null ? ms : Math.min(this.#after, ms);
      return;
    }
    this.#cancelTimer?.();
    const wait = Math.max(ms, this.#notBefore - this.#options.clock.now());
    if (wait === 0) {
      // Start now rather than on the next timer tick: a decision's write must not wait on the clock.
      this.#cancelTimer = null;
      this.#start();
      return;
    }
    this.#cancelTimer = this.#options.clock.setTimer(() => {
      this.#cancelTimer = null;
      this.#start();
    }, wait);
  }

  #start(): void {
    this.#inFlight = this.#round().finally(() => {
      this.#inFlight = null;
      const after = this.#after;
      this.#after = null;
      if (after !== null) this.#schedule(after);
    });
  }

  async #round(): Promise<void> {
    const desired = this.#desired();
    if (desired.length === 0) return;
    // A follower of an HA cluster touches no provider at all, not even a read; its leader's kick resumes.
    if (this.#options.active && !this.#options.active()) return;
    const events: NewEvent[] = [];
    const touched = new Set<string>();
    try {
      const names = desired.map((d) => d.router);
      const seen = await this.#call((signal) => this.#provider.readRouters(names, { signal }));
      const changes = this.#compare(desired, seen, events, touched);
      if (changes.length > 0) {
        for (const change of changes) this.#rows.set(change.name, { state: "pending" }, touched);
        const outcome = await this.#write(changes);
        this.#refuse(outcome, desired, events, touched);
        if (outcome.written.length > 0) {
          const written = outcome.written.map((c) => c.name);
          const verified = await this.#call((signal) => this.#provider.readRouters(written, { signal }));
          this.#verify(outcome.written, verified, desired, events, touched);
        }
      }
      this.#failures = 0;
      const unsettled = desired.some((d) => this.#rows.get(d.router).state === "pending");
      // null: the provider's nameservers are watched over DNS, which asks for a round when they differ.
      const drift = this.#options.driftPolicy?.(this.#provider.name);
      if (unsettled) this.#schedule(this.#backoff());
      else if (drift !== null)
        this.#schedule(drift ?? this.#provider.driftCheckMs ?? this.#options.driftCheckMs ?? 60_000);
    } catch (error) {
      this.#fail(error, desired, events, touched);
    } finally {
      // A decision that arrived mid-round moved the target: what this round confirmed is not in sync any more.
      this.#unsettleMoved(touched);
      await this.#persist(events, touched);
    }
  }

  #compare(
    desired: DesiredTarget[],
    seen: Map<string, RouterRecord | null>,
    events: NewEvent[],
    touched: Set<string>,
  ): RouterChange[] {
    const now = this.#options.clock.now();
    const name = this.#provider.name;
    const changes: RouterChange[] = [];
    for (const d of desired) {
      const ttl = d.ttl[name] ?? 60;
      const before = this.#rows.get(d.router);
      const verdict = judge(name, d.router, seen.get(d.router) ?? null, { target: d.target, ttl });
      if (verdict.kind === "conflict") {
        const message = verdict.message;
        const event: NewEvent = { at: now, type: "dns.error", service: d.service, provider: name, message };
        this.#rows.reportOnce(d.router, message, event, events);
        this.#rows.set(d.router, { state: "error", error: message }, touched);
        continue;
      }
      if (verdict.kind === "in-sync") {
        this.#rows.set(d.router, { state: "in-sync", target: verdict.served.target }, touched);
        continue;
      }
      const record = verdict.served;
      const refused = this.#rows.refused.get(d.router);
      if (refused && refused.target === d.target && refused.ttl === ttl) {
        this.#rows.set(d.router, { target: record?.target ?? null }, touched);
        continue;
      }
      this.#rows.refused.delete(d.router);
      // Drift is a confirmed target served no more; a TTL-only difference (a config change) is rewritten quietly.
      const confirmed = before.state === "in-sync" && before.target === d.target;
      if (confirmed && (record?.target !== d.target || record.proxied === true)) {
        events.push({
          at: now,
          type: "dns.drift",
          service: d.service,
          provider: name,
          message: `Drift on ${name}: "${d.router}" serves ${describeServed(record)}, putting back "${d.target}" TTL ${ttl}`,
        });
      }
      this.#rows.set(d.router, { target: record?.target ?? null }, touched);
      changes.push({ name: d.router, target: d.target, ttl });
    }
    return changes;
  }

  /** The one place router changes are written (a fencing hook would wrap this): refusals are isolated per router. */
  async #write(changes: RouterChange[]): Promise<WriteOutcome> {
    return writeIsolating(changes, (part) =>
      this.#call((signal) => this.#provider.writeRouters(part, { signal })),
    );
  }

  /** Routers the provider refused for good: an error for each of them alone. */
  #refuse(outcome: WriteOutcome, desired: DesiredTarget[], events: NewEvent[], touched: Set<string>): void {
    const name = this.#provider.name;
    for (const [router, fault] of outcome.refused) {
      const change = desired.find((x) => x.router === router);
      if (!change) continue;
      this.#rows.refused.set(router, { target: change.target, ttl: change.ttl[name] ?? 60 });
      const reason = `${fault.message}: this router is not written again until its target or TTL changes or an operator retries; the other routers go on`;
      const at = this.#options.clock.now();
      const event: NewEvent = {
        at,
        type: "dns.error",
        service: change.service,
        provider: name,
        message: `${name}: ${reason}`,
      };
      this.#rows.reportOnce(router, fault.message, event, events);
      this.#rows.set(router, { state: "error", error: reason }, touched);
    }
  }

  #verify(
    changes: RouterChange[],
    verified: Map<string, RouterRecord | null>,
    desired: DesiredTarget[],
    events: NewEvent[],
    touched: Set<string>,
  ): void {
    const now = this.#options.clock.now();
    const name = this.#provider.name;
    for (const change of changes) {
      const record = ownPart(verified.get(change.name) ?? null, change.target);
      const service = desired.find((d) => d.router === change.name)?.service;
      if (record && servedAsWritten(record, change)) {
        const event: NewEvent = {
          at: now,
          type: "dns.switched",
          provider: name,
          message: `Switched "${change.name}" on ${name} to "${change.target}" (TTL ${change.ttl})`,
        };
        if (service) event.service = service;
        events.push(event);
        this.#rows.set(change.name, { state: "in-sync", target: record.target }, touched);
      } else {
        this.#rows.set(
          change.name,
          {
            state: "pending",
            target: record?.target ?? null,
            error: `Wrote "${change.target}" to ${name} but read back ${describeServed(record)}; retrying`,
          },
          touched,
        );
      }
    }
  }

  #fail(error: unknown, desired: DesiredTarget[], events: NewEvent[], touched: Set<string>): void {
    const now = this.#options.clock.now();
    const name = this.#provider.name;
    this.#failures++;
    const { fault, wait, notBefore, reason } = planFault(name, error, {
      now,
      backoff: this.#backoff(),
      driftMs: this.#provider.driftCheckMs ?? this.#options.driftCheckMs ?? 60_000,
      retryAfterCapMs: this.#options.maxRetryAfterMs ?? 300_000,
    });
    if (notBefore !== undefined) this.#notBefore = notBefore;
    for (const d of desired) {
      const row = this.#rows.get(d.router);
      if (row.state === "in-sync" && row.target === d.target && !touched.has(d.router)) continue;
      const event: NewEvent = {
        at: now,
        type: "dns.error",
        service: d.service,
        provider: name,
        message: `${name}: ${reason}`,
      };
      this.#rows.reportOnce(d.router, fault.message, event, events);
      this.#rows.set(d.router, { state: "error", error: reason }, touched);
    }
    this.#options.log.warn(`DNS provider ${name} failed`, { error: reason, failures: this.#failures });
    this.#schedule(wait);
  }

  #backoff(): number {
    const { maxBackoffMs } = this.#options.timing(this.#provider.name);
    const base = this.#options.baseBackoffMs ?? 1000;
    const exp = Math.min(maxBackoffMs, base * 2 ** Math.max(0, this.#failures - 1));
    return Math.round(exp / 2 + (this.#options.random ?? Math.random)() * (exp / 2));
  }

  /** One provider call under the provider's timeout; when it runs out the requests are aborted, not just left behind. */
  #call<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const { timeoutMs } = this.#options.timing(this.#provider.name);
    return callWithin(this.#options.clock, this.#provider.name, timeoutMs, fn);
  }

  async #persist(events: NewEvent[], touched: Set<string>): Promise<void> {
    if (events.length === 0 && touched.size === 0) return;
    const providerStates = [...touched].map((router) => ({ ...this.#rows.get(router) }));
    try {
      await this.#options.persist({ events, providerStates });
    } catch (error) {
      this.#options.log.error("Cannot persist DNS state", { error: String(error) });
    }
  }
}
