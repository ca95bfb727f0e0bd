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
import { episodeRuleRouted } from "./episodes.ts";
import { createDestinations, type Destination, type Route } from "./factory.ts";
import type { Outbox } from "./outbox.ts";

/** Alerting of one coordinator. */
export interface Alerts {
  dispatcher: AlertDispatcher;
  /** Open pager episodes, kept across restarts. */
  episodes: EpisodeBook;
  /** The coordinator's `onEvents`: buffers and returns at once. */
  enqueue(events: AuditEvent[]): void;
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
      divergence.start();
      recovery.start();
      stops.push(
        () => divergence.stop(),
        () => recovery.stop(),
      );
      for (const d of destinations) {
        if (d.sender instanceof AlertmanagerSender)
          stops.push(repost(d.sender, d.route, episodes, config, { clock, log }));
      }
    },
    stop() {
      for (const stop of stops.splice(0)) stop();
      dispatcher.stop();
    },
  };
}

/** Re-posts the open episodes routed to an Alertmanager every `resendInterval`; returns the stop. */
function repost(
  sender: AlertmanagerSender,
  route: Route,
  episodes: EpisodeBook,
  config: Config,
  world: { clock: Clock; log: Logger },
): () => void {
  let cancel: () => void = () => {};
  const tick = () => {
    cancel = world.clock.setTimer(tick, sender.target.resendIntervalMs);
    const open = episodes.open().filter((e) => episodeRuleRouted(route, e.kind));
    void sender.refresh(open, config.coordinator.publicUrl).catch((error: unknown) => {
      world.log.warn(`Cannot re-post open alerts to "${sender.name}": ${String(error)}`);
    });
  };
  cancel = world.clock.setTimer(tick, sender.target.resendIntervalMs);
  return () => cancel();
}
