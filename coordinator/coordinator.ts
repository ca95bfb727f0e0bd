/**
 * The coordinator's service layer: folds accepted reports into votes, runs decision rounds, records
 * every decision in the store before DNS is touched, and hands targets to the reconciler. The rooms
 * are the vote book (`votes.ts`), the service book (`service-book.ts`), the decision round
 * (`decision-round.ts`) and the operator verbs (`operator-verbs.ts`); this facade keeps them in one
 * serial queue and stores each change before it takes effect.
 */
import type { ClusterStatus } from "../shared/api-schema.ts";
import type { Clock } from "../shared/clock.ts";
import type { Config, ServiceConfig } from "../shared/config-schema.ts";
import type { Logger } from "../shared/log.ts";
import type { Assignments, Endpoint, Report } from "../shared/protocol.ts";
import type { CountedVote, EndpointTrack } from "../shared/quorum.ts";
import { emptyPlan, planRound, roundCommit } from "./decision-round.ts";
import type { NameserverView } from "./dns/nameserver-status.ts";
import type { DnsProvider } from "./dns/provider.ts";
import { Reconciler } from "./dns/reconciler.ts";
import type { RoundVerdicts, ServiceState } from "./engine.ts";
import { DEFAULT_MAX_WAITING_REPORTS, GroupQueue, type Waiting } from "./group-commit.ts";
import { type Actor, planMode, planPin, type VerbPlan } from "./operator-verbs.ts";
import { ActionError, assignmentsFor, ServiceBook } from "./service-book.ts";
import {
  type AuditEvent,
  type Commit,
  type CommitOutcome,
  type NewEvent,
  type ProbeRow,
  ReplayError,
  StaleStateError,
  type Store,
} from "./store/store.ts";
import { type Fold, VoteBook } from "./votes.ts";

export { ActionError };

/** What the coordinator runs with. */
export interface CoordinatorDeps {
  config: Config;
  store: Store;
  clock: Clock;
  log: Logger;
  providers: readonly DnsProvider[];
  /** Called with events after they are stored (alerts, live status); must not throw or block. */
  onEvents?: (events: AuditEvent[]) => void;
  random?: () => number;
  /** HA mode: whether this coordinator may decide now (it leads the cluster); always when absent. */
  canDecide?: () => boolean;
  /** HA mode: whether the DNS reconciler may run rounds now (it leads the cluster); always when absent. */
  dnsActive?: () => boolean;
  /** HA mode: the cluster as `/v1/status` shows it. */
  cluster?: () => ClusterStatus;
  /** Reports that may wait to be stored before new ones get 429 (default `DEFAULT_MAX_WAITING_REPORTS`). */
  maxWaitingReports?: number;
}

/** One running coordinator over one config. */
export class Coordinator {
  readonly config: Config;
  readonly reconciler: Reconciler;
  /** What the providers' own nameservers serve, where this runtime can ask them (set by the Node entry). */
  nameservers: NameserverView | null = null;
  readonly #deps: CoordinatorDeps;
  readonly #votes: VoteBook;
  readonly #services: ServiceBook;
  readonly #startedAt: number;
  #queue: Promise<unknown> = Promise.resolve();
  /** Reports waiting for the next group commit (one per probe per batch). */
  readonly #waiting: GroupQueue<Report>;
  #batchQueued = false;
  #cancelTick: (() => void) | null = null;
  /** Whether the last round decided (HA: this member led); a member that starts to lead decides everything once. */
  #deciding = false;
  /** The id of the newest stored event (known from every commit, the start's included). */
  #lastEventId = 0;

  private constructor(deps: CoordinatorDeps, reconciler: Reconciler) {
    this.config = deps.config;
    this.#deps = deps;
    this.#votes = new VoteBook(deps.config);
    this.#services = new ServiceBook(deps.config, deps.providers);
    this.reconciler = reconciler;
    this.#startedAt = deps.clock.now();
    this.#waiting = new GroupQueue({
      limit: deps.maxWaitingReports ?? DEFAULT_MAX_WAITING_REPORTS,
      key: (report) => report.probe,
    });
  }

  /** Loads the stored state, records the start, and resumes any unfinished DNS work. */
  static async open(deps: CoordinatorDeps): Promise<Coordinator> {
    const snapshot = await deps.store.snapshot();
    const timing = (provider: string) => {
      const settings = deps.config.providers[provider as keyof Config["providers"]]; // unknown names give undefined
      return { timeoutMs: settings?.timeout ?? 10_000, maxBackoffMs: settings?.maxBackoff ?? 30_000 };
    };
    let self: Coordinator | null = null;
    const reconcilerOptions = {
      clock: deps.clock,
      log: deps.log,
      timing,
      initial: snapshot.providerStates,
      persist: async (change: { events: NewEvent[]; providerStates: Commit["providerStates"] }) => {
        if (self) await self.#commit({ events: change.events, providerStates: change.providerStates ?? [] });
      },
      ...(deps.random ? { random: deps.random } : {}),
      ...(deps.dnsActive ? { active: deps.dnsActive } : {}),
    };
    const coordinator = new Coordinator(deps, new Reconciler(deps.providers, reconcilerOptions));
    self = coordinator;
    coordinator.#votes.load(snapshot.tracks, snapshot.probes);
    // A provider last seen in sync with the *previous* target is unfinished too (killed before its write began).
    const decided = new Map(snapshot.desired.map((d) => [d.router, d.target]));
    const unfinished = snapshot.providerStates.filter(
      (row) => row.state !== "in-sync" || (decided.has(row.router) && decided.get(row.router) !== row.target),
    ).length;
    const services = coordinator.#services.load(snapshot.services);
    const now = deps.clock.now();
    await coordinator.#commit({
      services,
      desired: deps.config.services.map((svc) => coordinator.#services.desiredRow(svc, now)),
      events: [
        {
          at: now,
          type: "coordinator.started",
          message:
            unfinished > 0
              ? `Coordinator started with unfinished DNS work on ${unfinished} router(s); resuming it`
              : `Coordinator started with ${services.length} service(s) and ${deps.config.probes.members.length} probe(s)`,
        },
      ],
    });
    coordinator.reconciler.setDesired(coordinator.#services.desiredTargets());
    return coordinator;
  }

  /** Starts the periodic decision round (every probe interval); stale probes are noticed here (pruning: `retention.ts`). */
  start(): void {
    const tick = () => {
      this.#cancelTick = this.#deps.clock.setTimer(tick, this.config.probes.interval);
      void this.evaluate().catch((error: unknown) =>
        this.#deps.log.error("Decision round failed", { error: String(error) }),
      );
    };
    this.#cancelTick = this.#deps.clock.setTimer(tick, this.config.probes.interval);
  }

  /** Stops timers; the store stays open. */
  stop(): void {
    this.#cancelTick?.();
    this.#cancelTick = null;
    this.reconciler.stop();
  }

  /** The secret env variable's value for a configured probe, or undefined for an unknown probe. */
  probeMember(id: string): Config["probes"]["members"][number] | undefined {
    return this.config.probes.members.find((m) => m.id === id);
  }

  /** The checks a probe runs, in wire form. */
  assignments(probeId: string): Assignments {
    return assignmentsFor(this.config, probeId);
  }

  /**
   * Folds an authenticated report into the votes, then decides; settles once the report is stored.
   * Reports that arrive while a batch is being stored share the next batch's one transaction.
   * Throws `ReplayError` for a report id seen before, `IngestBusyError` when too many reports wait.
   */
  acceptReport(report: Report): Promise<void> {
    const stored = this.#waiting.add(report);
    this.#queueBatch();
    return stored;
  }

  /** Whether a report id from this probe was already accepted (false when the store cannot say). */
  async reportSeen(probe: string, id: string): Promise<boolean> {
    return (await this.#deps.store.hasReport?.(probe, id)) ?? false;
  }

  /** Runs one decision round over every service (also marks probes that fell silent). */
  evaluate(): Promise<void> {
    return this.#serial(() => this.#round(this.#deps.clock.now(), null));
  }

  /** Pins a service to a path (an operator's manual switch). */
  failover(name: string, to: Endpoint, options: Actor): Promise<void> {
    return this.#serial(async () => {
      const now = this.#deps.clock.now();
      await this.#applyVerb(
        planPin({ services: this.#services, votes: this.#votes }, name, to, options, now),
      );
      this.reconciler.updateDesired([this.#services.desiredTarget(this.#services.config(name))]);
    });
  }

  /** Pauses automatic decisions for a service (maintenance). */
  pause(name: string, options: Actor): Promise<void> {
    return this.#serial(async () => {
      await this.#applyVerb(planMode(this.#services, name, "pause", options, this.#deps.clock.now()));
    });
  }

  /** Returns a paused or pinned service to automatic decisions. */
  resume(name: string, options: Actor): Promise<void> {
    return this.#serial(async () => {
      const now = this.#deps.clock.now();
      await this.#applyVerb(planMode(this.#services, name, "resume", options, now));
      this.reconciler.kick();
      await this.#round(now, new Set([name]));
    });
  }

  /** The state of one service (throws `ActionError` 404 when unknown). */
  service(name: string): ServiceState {
    return { ...this.#services.state(name) };
  }

  /** Every service's state. */
  services(): ServiceState[] {
    return this.#services.all().map((s) => ({ ...s }));
  }

  /** The verdicts and per-probe votes of one service right now. */
  verdicts(name: string): RoundVerdicts & { counted: Record<Endpoint, CountedVote[]> } {
    return this.#votes.verdicts(this.#services.config(name), this.#deps.clock.now());
  }

  /** The verdicts and tallies of one service right now, without the per-probe votes. */
  tallies(name: string): RoundVerdicts {
    return this.#votes.tallies(this.#services.config(name), this.#deps.clock.now());
  }

  /** One probe's track of one endpoint, if it reported one. */
  track(probe: string, service: string, endpoint: Endpoint): EndpointTrack | undefined {
    return this.#votes.track(probe, service, endpoint);
  }

  /** What the coordinator knows of a probe. */
  probe(id: string): ProbeRow | undefined {
    const row = this.#votes.probe(id);
    return row ? { ...row } : undefined;
  }

  /** Audit events at or after `sinceMs`, oldest first. */
  events(options: { sinceMs?: number; afterId?: number; limit?: number }): Promise<AuditEvent[]> {
    return this.#deps.store.listEvents(options);
  }

  /**
   * A page of the audit log, oldest first: from `sinceMs` or after event `afterId` when given, else
   * the newest `limit` events; `more` says whether later events exist beyond the page.
   */
  async eventPage(options: {
    sinceMs?: number;
    afterId?: number;
    limit: number;
  }): Promise<{ events: AuditEvent[]; more: boolean }> {
    const forward = options.sinceMs !== undefined || options.afterId !== undefined;
    // Event ids are consecutive, so the newest N start after id (last - N).
    const afterId = forward ? (options.afterId ?? 0) : Math.max(0, this.#lastEventId - options.limit);
    const page = await this.#deps.store.listEvents({
      ...(options.sinceMs !== undefined ? { sinceMs: options.sinceMs } : {}),
      afterId,
      limit: options.limit + 1,
    });
    return { events: page.slice(0, options.limit), more: page.length > options.limit };
  }

  /**
   * HA mode: takes the service states another coordinator recorded in the shared ledger, and their
   * targets; `pick` runs inside this coordinator's queue, so none of its own decisions interleaves.
   */
  adopt(pick: () => ServiceState[]): Promise<void> {
    return this.#serial(async () => {
      if (this.#services.adopt(pick())) this.reconciler.setDesired(this.#services.desiredTargets());
    });
  }

  /** Stores an event observed outside a decision round (e.g. DNS providers diverging) and notifies listeners. */
  recordEvent(event: NewEvent): Promise<void> {
    return this.#serial(() => this.#commit({ events: [event] }));
  }

  /** The cluster this coordinator belongs to (HA mode), or undefined for a lone coordinator. */
  clusterStatus(): ClusterStatus | undefined {
    return this.#deps.cluster?.();
  }

  /** When this coordinator started (ms). */
  get startedAt(): number {
    return this.#startedAt;
  }

  /** The router FQDN (no trailing dot) of a service. */
  routerName(svc: ServiceConfig): string {
    return this.#services.routerName(svc);
  }

  #queueBatch(): void {
    if (this.#batchQueued || this.#waiting.size === 0) return;
    this.#batchQueued = true;
    void this.#serial(async () => {
      await this.#deps.store.gather?.();
      this.#batchQueued = false; // reports from here on wait for the next batch
      await this.#foldBatch(this.#waiting.take());
      this.#queueBatch(); // a probe's second report waits for its first to be folded
    }).catch((error: unknown) => this.#deps.log.error("Report batch failed", { error: String(error) }));
  }

  /** Folds a batch (one report per probe, so the folds are independent), stores it in one commit, then decides once. */
  async #foldBatch(batch: Waiting<Report>[]): Promise<void> {
    const now = this.#deps.clock.now();
    let folded: { waiting: Waiting<Report>; fold: Fold; outcome: CommitOutcome | undefined }[];
    try {
      folded = batch.map((waiting) => ({
        waiting,
        fold: this.#votes.fold(waiting.item, now),
        outcome: undefined,
      }));
      const outcomes = await this.#commitMany(
        folded.map(({ waiting, fold }) => ({
          report: { probe: fold.probe.id, id: waiting.item.id, at: now },
          tracks: fold.stored,
          probes: [fold.probe],
          events: fold.events,
        })),
      );
      folded.forEach((entry, i) => {
        entry.outcome = outcomes[i];
      });
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
      return;
    }
    const accepted: Waiting<Report>[] = [];
    let touched: Set<string> | null = new Set();
    for (const { waiting, fold, outcome } of folded) {
      if (outcome instanceof ReplayError || outcome === undefined) {
        waiting.reject(outcome ?? new Error("Cannot store the report: the store answered no outcome for it"));
        continue;
      }
      this.#votes.apply(fold);
      accepted.push(waiting);
      // A report that touched no service (an unhealthy probe's) can move every service's votes.
      if (fold.touched.size === 0) touched = null;
      else for (const name of fold.touched) touched?.add(name);
    }
    if (accepted.length === 0) return;
    try {
      await this.#round(now, touched);
      for (const waiting of accepted) waiting.resolve();
    } catch (error) {
      for (const waiting of accepted) waiting.reject(error);
    }
  }

  async #applyVerb(plan: VerbPlan): Promise<void> {
    await this.#commit(plan.commit);
    this.#services.set([plan.next]);
  }

  async #round(now: number, only: Set<string> | null): Promise<void> {
    const deciding = this.#deps.canDecide?.() ?? true;
    // A member that starts to decide (it now leads) decides every service once.
    if (deciding && !this.#deciding) this.#votes.markAllDirty();
    this.#deciding = deciding;
    const plan = planRound(
      {
        config: this.config,
        votes: this.#votes,
        services: this.#services,
        startedAt: this.#startedAt,
        deciding,
      },
      now,
      only,
    );
    if (!emptyPlan(plan)) {
      try {
        await this.#commit(roundCommit(plan));
      } catch (error) {
        if (!(error instanceof StaleStateError)) throw error;
        // Another member changed a service first, or leadership ended: the ledger sync brings the news.
        this.#deps.log.warn("Decision not recorded", { error: error.message });
        return;
      }
    }
    this.#services.set(plan.services, "decided");
    this.#services.settle(plan.decided);
    this.#votes.settle(plan.decided);
    this.#votes.setProbes(plan.probes);
    if (plan.desired.length > 0)
      this.reconciler.updateDesired(
        plan.desired.map((d) => this.#services.desiredTarget(this.#services.config(d.service))),
      );
  }

  async #commit(change: Commit): Promise<void> {
    this.#stored(await this.#deps.store.commit(change));
  }

  async #commitMany(changes: Commit[]): Promise<CommitOutcome[]> {
    const outcomes = await this.#deps.store.commitMany(changes);
    this.#stored(outcomes.flatMap((outcome) => (outcome instanceof ReplayError ? [] : outcome)));
    return outcomes;
  }

  /** Notes stored events: the newest id, the log, the listeners. */
  #stored(stored: AuditEvent[]): void {
    const last = stored.at(-1);
    if (last) this.#lastEventId = Math.max(this.#lastEventId, last.id);
    if (stored.length > 0) {
      for (const event of stored) this.#deps.log.info(`[${event.type}] ${event.message}`);
      try {
        this.#deps.onEvents?.(stored);
      } catch (error) {
        this.#deps.log.error("Event listener failed", { error: String(error) });
      }
    }
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
