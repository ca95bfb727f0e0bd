/**
 * The coordinator's service layer: folds accepted reports into votes, runs decision rounds, records
 * every decision in the store before DNS is touched, and hands targets to the reconciler.
 */
import type { ClusterStatus } from "../shared/api-schema.ts";
import type { Clock } from "../shared/clock.ts";
import type { Config, ServiceConfig } from "../shared/config-schema.ts";
import type { Logger } from "../shared/log.ts";
import { checkedResults, notCheckedCount } from "../shared/not-checked.ts";
import type { Assignments, Endpoint, Report } from "../shared/protocol.ts";
import {
  applyResult,
  type CountedVote,
  type EndpointTrack,
  effectiveVote,
  emptyTrack,
  newestPerEndpoint,
  olderThanFolded,
  sameStanding,
  verdictOf,
} from "../shared/quorum.ts";
import type { NameserverView } from "./dns/nameserver-status.ts";
import type { DnsProvider } from "./dns/provider.ts";
import { type DesiredTarget, Reconciler } from "./dns/reconciler.ts";
import { initialState, type RoundVerdicts, type ServiceState } from "./engine.ts";
import { newlySilent, planService, sameState } from "./round.ts";
import {
  type AuditEvent,
  type Commit,
  type DesiredRouter,
  type NewEvent,
  type ProbeRow,
  StaleStateError,
  type Store,
  type TrackRow,
} from "./store/store.ts";

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
}

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

const trackKey = (probe: string, service: string, endpoint: Endpoint) => `${probe}|${service}|${endpoint}`;

/** One running coordinator over one config. */
export class Coordinator {
  readonly config: Config;
  readonly reconciler: Reconciler;
  /** What the providers' own nameservers serve, where this runtime can ask them (set by the Node entry). */
  nameservers: NameserverView | null = null;
  readonly #deps: CoordinatorDeps;
  readonly #services = new Map<string, ServiceState>();
  readonly #serviceByName: Map<string, ServiceConfig>;
  readonly #tracks = new Map<string, TrackRow>();
  /** The `seenAt` of each track as last stored: never later than the one in memory. */
  readonly #storedSeenAt = new Map<string, number | null>();
  readonly #probes = new Map<string, ProbeRow>();
  /** Each probe's latest round (its `sentAt`): the parts of one round add up their not-checked counts. */
  readonly #rounds = new Map<string, string>();
  readonly #startedAt: number;
  #queue: Promise<unknown> = Promise.resolve();
  #cancelTick: (() => void) | null = null;
  /** The id of the newest stored event (known from every commit, the start's included). */
  #lastEventId = 0;

  private constructor(deps: CoordinatorDeps, reconciler: Reconciler) {
    this.config = deps.config;
    this.#serviceByName = new Map(deps.config.services.map((svc) => [svc.name, svc]));
    this.#deps = deps;
    this.reconciler = reconciler;
    this.#startedAt = deps.clock.now();
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
    for (const row of snapshot.tracks) {
      const key = trackKey(row.probe, row.service, row.endpoint);
      coordinator.#tracks.set(key, row);
      coordinator.#storedSeenAt.set(key, row.track.seenAt);
    }
    for (const row of snapshot.probes) coordinator.#probes.set(row.id, row);
    const stored = new Map(snapshot.services.map((s) => [s.name, s]));
    // A provider last seen in sync with the *previous* target is unfinished too (killed before its write began).
    const decided = new Map(snapshot.desired.map((d) => [d.router, d.target]));
    const unfinished = snapshot.providerStates.filter(
      (row) => row.state !== "in-sync" || (decided.has(row.router) && decided.get(row.router) !== row.target),
    ).length;
    // Defaults first: a state stored before a field existed gets that field's initial value.
    const services: ServiceState[] = deps.config.services.map((svc) => ({
      ...initialState(svc.name),
      ...stored.get(svc.name),
    }));
    for (const state of services) coordinator.#services.set(state.name, state);
    const now = deps.clock.now();
    await coordinator.#commit({
      services,
      desired: deps.config.services.map((svc) => coordinator.#desiredRow(svc, now)),
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
    coordinator.reconciler.setDesired(coordinator.#desiredTargets());
    return coordinator;
  }

  /** Starts the periodic decision round (every probe interval); stale probes are noticed here. */
  start(): void {
    const tick = () => {
      this.#cancelTick = this.#deps.clock.setTimer(tick, this.config.probes.interval);
      void this.evaluate().catch((error: unknown) =>
        this.#deps.log.error("Decision round failed", { error: String(error) }),
      );
      void this.#deps.store
        .pruneReports(this.#deps.clock.now() - 10 * 60_000)
        .catch((error: unknown) =>
          this.#deps.log.error("Cannot prune replay state", { error: String(error) }),
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
    const checks = this.config.services.flatMap((svc) =>
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
    return {
      probe: probeId,
      intervalMs: this.config.probes.interval,
      checks,
      canaries: this.config.probes.canaries,
    };
  }

  /** Folds an authenticated report into the votes, then decides; throws `ReplayError` for a report id seen before. */
  acceptReport(report: Report): Promise<void> {
    return this.#serial(async () => {
      const now = this.#deps.clock.now();
      const wasSilent = this.#probes.get(report.probe)?.silent ?? false;
      // A probe splits a large round into several reports with one `sentAt` (CONTRACT §5): one round.
      const sameRound = this.#rounds.get(report.probe) === report.sentAt;
      const before = sameRound ? (this.#probes.get(report.probe)?.notChecked ?? 0) : 0;
      const notChecked = before + notCheckedCount(report.results);
      const probe: ProbeRow = {
        id: report.probe,
        lastSeen: now,
        healthy: report.healthy,
        silent: false,
        notChecked,
      };
      // Keyed by probe|service|endpoint: a report can carry thousands of results (one per path).
      const changed = new Map<string, TrackRow>();
      const stored: TrackRow[] = [];
      const touched = new Set<string>();
      if (report.healthy) {
        // One result per endpoint counts (the newest); one older than the result already folded is ignored.
        for (const result of newestPerEndpoint(checkedResults(report.results))) {
          const svc = this.#serviceByName.get(result.service);
          if (!svc) continue;
          const key = trackKey(report.probe, result.service, result.endpoint);
          const previous = this.#tracks.get(key)?.track;
          if (olderThanFolded(previous, result.checkedAt)) continue;
          const last: NonNullable<EndpointTrack["last"]> = { ok: result.ok, checkedAt: result.checkedAt };
          if (result.status !== undefined) last.status = result.status;
          if (result.latencyMs !== undefined) last.latencyMs = result.latencyMs;
          if (result.error !== undefined) last.error = result.error;
          const track = applyResult(previous ?? emptyTrack(), last, svc, now);
          const row = { probe: report.probe, service: result.service, endpoint: result.endpoint, track };
          changed.set(key, row);
          if (this.#mustStore(key, previous, track, now)) stored.push(row);
          touched.add(result.service);
        }
      }
      const events: NewEvent[] = wasSilent
        ? [{ at: now, type: "probe.back", message: `Probe "${report.probe}" is reporting again` }]
        : [];
      await this.#commit({
        report: { probe: report.probe, id: report.id, at: now },
        tracks: stored,
        probes: [probe],
        events,
      });
      for (const [key, row] of changed) this.#tracks.set(key, row);
      for (const row of stored)
        this.#storedSeenAt.set(trackKey(row.probe, row.service, row.endpoint), row.track.seenAt);
      this.#probes.set(probe.id, probe);
      this.#rounds.set(probe.id, report.sentAt);
      await this.#round(now, touched.size > 0 ? touched : null);
    });
  }

  /**
   * Whether a folded track must be written: its standing changed, or its stored `seenAt` is more than
   * an interval old. Otherwise the store keeps an older `seenAt` (and `last`): after a restart such a
   * vote turns stale sooner than it would have, never later, and the next report refreshes it.
   */
  #mustStore(key: string, previous: EndpointTrack | undefined, track: EndpointTrack, now: number): boolean {
    const storedSeenAt = this.#storedSeenAt.get(key);
    if (!previous || storedSeenAt === undefined || storedSeenAt === null) return true;
    if (now - storedSeenAt > this.config.probes.interval) return true;
    return !sameStanding(previous, track);
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
  failover(name: string, to: Endpoint, options: { actor: string; reason?: string }): Promise<void> {
    return this.#serial(async () => {
      const state = this.#state(name);
      const now = this.#deps.clock.now();
      const switched = state.active !== to;
      const next: ServiceState = {
        ...state,
        active: to,
        mode: "pinned",
        held: false,
        lastSwitchAt: switched ? now : state.lastSwitchAt,
      };
      const svc = this.#serviceConfig(name);
      await this.#commit({
        services: [next],
        desired: [this.#desiredRow(svc, now, to)],
        events: [
          {
            at: now,
            type: "pin",
            service: name,
            from: state.active,
            to,
            actor: options.actor,
            votes: this.#verdicts(svc, now).votes,
            message: `${options.actor} pinned "${name}" to ${to}${switched ? ` (switched from ${state.active})` : ""}${options.reason ? `: ${options.reason}` : ""}`,
          },
        ],
      });
      this.#services.set(name, next);
      this.reconciler.setDesired(this.#desiredTargets());
    });
  }

  /** Pauses automatic decisions for a service (maintenance). */
  pause(name: string, options: { actor: string; reason?: string }): Promise<void> {
    return this.#setMode(name, "paused", "pause", options);
  }

  /** Returns a paused or pinned service to automatic decisions. */
  resume(name: string, options: { actor: string; reason?: string }): Promise<void> {
    return this.#setMode(name, "auto", "resume", options);
  }

  /** The state of one service (throws `ActionError` 404 when unknown). */
  service(name: string): ServiceState {
    return { ...this.#state(name) };
  }

  /** Every service's state. */
  services(): ServiceState[] {
    return [...this.#services.values()].map((s) => ({ ...s }));
  }

  /** The verdicts and per-probe votes of one service right now. */
  verdicts(name: string): RoundVerdicts & { counted: Record<Endpoint, CountedVote[]> } {
    return this.#verdicts(this.#serviceConfig(name), this.#deps.clock.now());
  }

  /** One probe's track of one endpoint, if it reported one. */
  track(probe: string, service: string, endpoint: Endpoint): EndpointTrack | undefined {
    return this.#tracks.get(trackKey(probe, service, endpoint))?.track;
  }

  /** What the coordinator knows of a probe. */
  probe(id: string): ProbeRow | undefined {
    const row = this.#probes.get(id);
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
      let changed = false;
      for (const adopted of pick()) {
        // A ledger entry written before a field existed gets that field's initial value.
        const next = { ...initialState(adopted.name), ...adopted };
        const current = this.#services.get(next.name);
        if (!current || sameState(current, next)) continue;
        this.#services.set(next.name, next);
        changed = true;
      }
      if (changed) this.reconciler.setDesired(this.#desiredTargets());
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

  async #setMode(
    name: string,
    mode: ServiceState["mode"],
    type: "pause" | "resume",
    options: { actor: string; reason?: string },
  ): Promise<void> {
    return this.#serial(async () => {
      const state = this.#state(name);
      const now = this.#deps.clock.now();
      const next: ServiceState = { ...state, mode, held: false };
      await this.#commit({
        services: [next],
        events: [
          {
            at: now,
            type,
            service: name,
            actor: options.actor,
            message: `${options.actor} ${type === "pause" ? "paused" : "resumed"} "${name}" (was ${state.mode}, ${state.active} live)${options.reason ? `: ${options.reason}` : ""}`,
          },
        ],
      });
      this.#services.set(name, next);
      if (type === "resume") {
        this.reconciler.kick();
        await this.#round(now, new Set([name]));
      }
    });
  }

  async #round(now: number, only: Set<string> | null): Promise<void> {
    const silence = only
      ? { probes: [], events: [] }
      : newlySilent(this.config.probes.members, (id) => this.#probes.get(id), {
          now,
          intervalMs: this.config.probes.interval,
          startedAt: this.#startedAt,
        });
    const events: NewEvent[] = [...silence.events];
    const services: ServiceState[] = [];
    const desired: DesiredRouter[] = [];
    // In an HA cluster only the leader decides; the others keep their tallies warm.
    const deciding = this.#deps.canDecide?.() ?? true;
    for (const svc of this.config.services) {
      if (!deciding || (only && !only.has(svc.name))) continue;
      const state = this.#state(svc.name);
      const plan = planService(svc, state, this.#verdicts(svc, now), now);
      events.push(...plan.events);
      if (plan.switchTo) desired.push(this.#desiredRow(svc, now, plan.switchTo));
      if (!sameState(plan.next, state)) services.push(plan.next);
    }
    if (events.length === 0 && services.length === 0 && silence.probes.length === 0) return;
    try {
      await this.#commit({ services, desired, events, probes: silence.probes });
    } catch (error) {
      if (!(error instanceof StaleStateError)) throw error;
      // Another member changed a service first, or leadership ended: the ledger sync brings the news.
      this.#deps.log.warn("Decision not recorded", { error: error.message });
      return;
    }
    for (const s of services) this.#services.set(s.name, s);
    for (const p of silence.probes) this.#probes.set(p.id, p);
    if (desired.length > 0) this.reconciler.setDesired(this.#desiredTargets());
  }

  #verdicts(
    svc: ServiceConfig,
    now: number,
  ): RoundVerdicts & { counted: Record<Endpoint, CountedVote[]>; votes: NonNullable<NewEvent["votes"]> } {
    const intervalMs = this.config.probes.interval;
    const count = (endpoint: Endpoint): CountedVote[] =>
      this.config.probes.members.map((member) => {
        const row = this.#probes.get(member.id);
        const seen = { lastSeen: row?.lastSeen ?? null, healthy: row?.healthy ?? true };
        const track = this.#tracks.get(trackKey(member.id, svc.name, endpoint))?.track;
        return {
          probe: member.id,
          provider: member.provider,
          vote: effectiveVote(track, seen, { now, intervalMs }),
        };
      });
    const counted = { primary: count("primary"), secondary: count("secondary") };
    const primary = verdictOf(counted.primary, this.config.probes.quorum);
    const secondary = verdictOf(counted.secondary, this.config.probes.quorum);
    return { primary, secondary, counted, votes: { primary: primary.votes, secondary: secondary.votes } };
  }

  #desiredRow(svc: ServiceConfig, now: number, active?: Endpoint) {
    const endpoint = active ?? this.#services.get(svc.name)?.active ?? "primary";
    return { service: svc.name, router: this.routerName(svc), target: svc[endpoint].target, decidedAt: now };
  }

  #desiredTargets(): DesiredTarget[] {
    return this.config.services.map((svc) => {
      const state = this.#state(svc.name);
      const ttl: Record<string, number> = {};
      for (const provider of this.#deps.providers) {
        const override = svc[provider.name as "cloudflare" | "desec" | "powerdns" | "memory"]; // absent for unknown names
        ttl[provider.name] = override?.ttl ?? svc.ttl;
      }
      return { service: svc.name, router: this.routerName(svc), target: svc[state.active].target, ttl };
    });
  }

  /** The router FQDN (no trailing dot) of a service. */
  routerName(svc: ServiceConfig): string {
    return svc.router === "@" ? this.config.zone : `${svc.router}.${this.config.zone}`;
  }

  #state(name: string): ServiceState {
    const state = this.#services.get(name);
    if (!state) throw new ActionError(404, "not_found", `Unknown service "${name}"`);
    return state;
  }

  #serviceConfig(name: string): ServiceConfig {
    const svc = this.#serviceByName.get(name);
    if (!svc) throw new ActionError(404, "not_found", `Unknown service "${name}"`);
    return svc;
  }

  async #commit(change: Commit): Promise<void> {
    const stored = await this.#deps.store.commit(change);
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
