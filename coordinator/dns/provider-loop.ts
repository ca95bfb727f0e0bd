/** One provider's reconcile loop: rounds of read → compare → write → verify, with backoff, `Retry-After` and drift checks. */
import type { NewEvent, ProviderRouterRow } from "../store/store.ts";
import { MAX_TIMER_MS } from "./errors.ts";
import { callWithin, planFault } from "./loop-faults.ts";
import type { DnsProvider, RouterChange } from "./provider.ts";
import { ReadScope, type RoundPlan } from "./read-scope.ts";
import type { DesiredTarget, ReconcilerOptions } from "./reconciler.ts";
import { compareRouters, refuseRouters, type StepContext, verifyRouters } from "./round-steps.ts";
import { RouterRows } from "./router-rows.ts";
import { type WriteOutcome, writeIsolating } from "./router-write.ts";

/** Converges one provider toward the desired targets; never waits on another provider. */
export class ProviderLoop {
  readonly #provider: DnsProvider;
  readonly #options: ReconcilerOptions;
  readonly #desired: () => DesiredTarget[];
  readonly #rows: RouterRows;
  readonly #scope: ReadScope;
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
    this.#scope = new ReadScope(provider.name);
  }

  rows(): ProviderRouterRow[] {
    return this.#desired().map((d) => ({ ...this.#rows.get(d.router) }));
  }

  /** Marks in-sync routers whose desired target moved as `pending`, so status shows it before any answer. */
  /** The desired targets moved (only `changed`, when given): a router in sync with another target is pending. */
  markChanged(changed?: readonly DesiredTarget[]): void {
    const touched = new Set<string>();
    this.#rows.unsettleMoved(changed ?? this.#desired(), touched);
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

  /** A round that reads every router (an operator's retry, a new leader, the nameserver watch asking). */
  recheck(): void {
    this.#scope.requestFull();
    this.kick();
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
    const plan = this.#plan(desired);
    try {
      if (plan.targets.length > 0) await this.#converge(plan, desired, events, touched);
      if (plan.full) this.#scope.fullDone(this.#options.clock.now());
      this.#failures = 0;
      this.#scheduleNext(desired, plan);
    } catch (error) {
      this.#fail(error, desired, events, touched);
    } finally {
      // A decision that arrived mid-round moved the target: what this round confirmed is not in sync any more.
      this.#unsettleMoved(touched);
      await this.#persist(events, touched);
    }
  }

  /** What this round reads: everything on a drift check or recheck, else only the routers that changed. */
  #plan(desired: DesiredTarget[]): RoundPlan {
    const provider = this.#provider;
    const plan = this.#scope.plan(desired, {
      now: this.#options.clock.now(),
      driftMs: this.#driftMs(),
      row: (router) => this.#rows.get(router),
      refused: (d) => {
        const refused = this.#rows.refused.get(d.router);
        return refused?.target === d.target && refused.ttl === (d.ttl[provider.name] ?? 60);
      },
      fullDelay: (count) => provider.readDelay?.(count, { background: true }) ?? 0,
    });
    if (plan.fullWaitMs === Number.POSITIVE_INFINITY) {
      this.#options.log.warn(`DNS provider ${provider.name}: a full read never fits its API budget`, {
        routers: desired.length,
      });
    }
    return plan;
  }

  /** Read → compare → write → verify for the routers of `plan`. */
  async #converge(
    plan: RoundPlan,
    desired: DesiredTarget[],
    events: NewEvent[],
    touched: Set<string>,
  ): Promise<void> {
    const names = plan.targets.map((d) => d.router);
    const seen = await this.#call((signal) =>
      this.#provider.readRouters(names, { signal, background: plan.full }),
    );
    const changes = compareRouters(this.#steps(events, touched), plan.targets, seen);
    if (changes.length === 0) return;
    for (const change of changes) this.#rows.set(change.name, { state: "pending" }, touched);
    const outcome = await this.#write(changes);
    refuseRouters(this.#steps(events, touched), outcome, desired);
    if (outcome.written.length === 0) return;
    // The write's answer says what is served where the provider answers with it; the rest is read back.
    const unanswered = outcome.written.filter((c) => !outcome.served.has(c.name)).map((c) => c.name);
    const verified = new Map(outcome.served);
    if (unanswered.length > 0) {
      const read = await this.#call((signal) => this.#provider.readRouters(unanswered, { signal }));
      for (const [name, record] of read) verified.set(name, record);
    }
    verifyRouters(this.#steps(events, touched), outcome.written, verified, desired);
  }

  #steps(events: NewEvent[], touched: Set<string>): StepContext {
    const now = this.#options.clock.now();
    return { provider: this.#provider.name, now, rows: this.#rows, scope: this.#scope, events, touched };
  }

  /** The drift period: null when the provider's nameservers are watched instead. */
  #driftMs(): number | null {
    const drift = this.#options.driftPolicy?.(this.#provider.name);
    if (drift === null) return null;
    return drift ?? this.#provider.driftCheckMs ?? this.#options.driftCheckMs ?? 60_000;
  }

  #scheduleNext(desired: DesiredTarget[], plan: RoundPlan): void {
    const unsettled = desired.some((d) => this.#rows.get(d.router).state === "pending");
    if (unsettled) {
      this.#schedule(this.#backoff());
      return;
    }
    // A full read that waits for the budget comes back when it fits; else the next drift check is due.
    const wait =
      this.#scope.fullDue && plan.fullWaitMs !== undefined
        ? plan.fullWaitMs
        : this.#scope.nextDriftIn(this.#options.clock.now(), this.#driftMs());
    if (wait !== null) this.#schedule(Math.min(MAX_TIMER_MS, wait));
  }

  /** The one place router changes are written (a fencing hook would wrap this): refusals are isolated per router. */
  async #write(changes: RouterChange[]): Promise<WriteOutcome> {
    return writeIsolating(changes, (part) =>
      this.#call((signal) => this.#provider.writeRouters(part, { signal })),
    );
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
