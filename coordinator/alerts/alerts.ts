/**
 * Wires alerting for a running coordinator (any runtime): destinations from config and env, the
 * dispatcher over a given outbox, the book of open pager episodes, and, once the coordinator is
 * open, the watches that record DNS divergence and recovery and the Alertmanager re-posts.
 */
import type { Clock } from "../../shared/clock.ts";
import type { Config } from "../../shared/config-schema.ts";
import type { Logger } from "../../shared/log.ts";
import type { Coordinator } from "../coordinator.ts";
import type { AlertCounters } from "../metrics.ts";
import type { AuditEvent, Store } from "../store/store.ts";
import { AlertmanagerSender } from "./alertmanager.ts";
import { AlertDispatcher, type RetryPolicy } from "./dispatcher.ts";
import { DivergenceWatch } from "./divergence.ts";
import { DnsRecoveryWatch } from "./dns-recovery.ts";
import { EpisodeBook } from "./episode-book.ts";
import { episodeRuleRouted, overByState } from "./episodes.ts";
import { createDestinations, type Destination } from "./factory.ts";
import type { Outbox } from "./outbox.ts";
import { alertsDoneThrough } from "./retention-floor.ts";

/** Alerting of one coordinator. */
export interface Alerts {
  dispatcher: AlertDispatcher;
  /** Open pager episodes, kept across restarts. */
  episodes: EpisodeBook;
  /** The coordinator's `onEvents`: buffers and returns at once. */
  enqueue(events: AuditEvent[]): void;
  /** The highest audit event id alerting is done with (retention keeps every event after it). */
  eventsDoneThrough(): Promise<number>;
  /** Starts the DNS watches and the Alertmanager re-posts on an open coordinator. */
  watch(coordinator: Coordinator): void;
  stop(): void;
}

/** Builds and starts alerting; destinations whose env is missing are logged and left out. */
export async function startAlerts(options: {
  config: Config;
  env: (name: string) => string | undefined;
  outbox: Outbox;
  store: Store;
  fetch: typeof fetch;
  clock: Clock;
  log: Logger;
  retry?: Partial<RetryPolicy>;
  divergedAfterMs?: number;
  counters?: AlertCounters;
}): Promise<Alerts> {
  const { config, clock, log } = options;
  const destinations: Extract<Destination, { ok: true }>[] = [];
  for (const d of createDestinations(config, { env: options.env, world: { fetch: options.fetch, clock } })) {
    if (d.ok) destinations.push(d);
    else log.error(`${d.message}; its alerts are not sent (${d.path})`);
  }
  const readEvents = (afterId: number) => options.store.listEvents({ afterId, limit: 500 });
  const episodes = new EpisodeBook({ outbox: options.outbox, readEvents, zone: config.zone, log });
  await episodes.start();
  const dispatcher = new AlertDispatcher({
    config,
    destinations,
    outbox: options.outbox,
    readEvents,
    clock,
    log,
    ...(options.retry ? { retry: options.retry } : {}),
    ...(options.counters ? { counters: options.counters } : {}),
  });
  await dispatcher.start();
  const stops: (() => void)[] = [];
  return {
    dispatcher,
    episodes,
    enqueue: (events) => {
      episodes.apply(events);
      dispatcher.enqueue(events);
    },
    eventsDoneThrough: () => alertsDoneThrough(options.outbox, dispatcher.doneThrough()),
    watch(coordinator) {
      if (destinations.length === 0) return;
      const routers = new Map(config.services.map((svc) => [svc.name, coordinator.routerName(svc)]));
      const states = () => coordinator.reconciler.states();
      dispatcher.dnsState = (service) => {
        const router = routers.get(service);
        const rows = states().filter((r) => r.router === router);
        if (rows.length === 0) return undefined;
        return Object.fromEntries(
          rows.map((r) => [
            r.provider,
            { state: r.state, target: r.target, ...(r.error ? { error: r.error } : {}) },
          ]),
        );
      };
      const record = (event: Parameters<Coordinator["recordEvent"]>[0]) => coordinator.recordEvent(event);
      const diverged = episodes.open().filter((e) => e.kind === "dns-diverged" && e.service);
      const divergence = new DivergenceWatch({
        states,
        services: new Map([...routers].map(([service, router]) => [router, service])),
        record,
        clock,
        log,
        reported: diverged.flatMap((e) => routers.get(e.service ?? "") ?? []),
        ...(options.divergedAfterMs !== undefined ? { thresholdMs: options.divergedAfterMs } : {}),
      });
      const recovery = new DnsRecoveryWatch({
        open: () => episodes.open(),
        states,
        routers,
        record,
        clock,
        log,
      });
      // In a cluster only the leader ends episodes and re-posts them: a follower's view is stale.
      const leads = () => {
        const cluster = coordinator.clusterStatus();
        return !cluster || cluster.leader === cluster.self;
      };
      const upkeep = () => {
        const names = new Set(config.services.map((svc) => svc.name));
        const service = (name: string) => (names.has(name) ? coordinator.service(name) : undefined);
        episodes.forget(episodes.open().flatMap((e) => (overByState(e, service) ? [e.id] : [])));
        return recovery.check();
      };
      divergence.start();
      stops.push(
        () => divergence.stop(),
        every(clock, 5000, () => (leads() ? upkeep() : undefined), log),
      );
      for (const d of destinations) {
        if (!(d.sender instanceof AlertmanagerSender)) continue;
        const sender = d.sender;
        const repost = () => {
          if (!leads()) return undefined;
          const open = episodes.open().filter((e) => episodeRuleRouted(d.route, e.kind));
          return sender.refresh(open, config.coordinator.publicUrl);
        };
        stops.push(every(clock, sender.target.resendIntervalMs, repost, log));
      }
    },
    stop() {
      for (const stop of stops.splice(0)) stop();
      dispatcher.stop();
    },
  };
}

/** Runs `fn` every `ms` on the clock, logging its failures; returns the stop. */
function every(clock: Clock, ms: number, fn: () => Promise<void> | undefined, log: Logger): () => void {
  let cancel: () => void = () => {};
  const tick = () => {
    cancel = clock.setTimer(tick, ms);
    void fn()?.catch((error: unknown) => log.warn(`Pager upkeep failed: ${String(error)}`));
  };
  cancel = clock.setTimer(tick, ms);
  return () => cancel();
}
