/**
 * Wires alerting for a running coordinator (any runtime): destinations from config and env, the
 * dispatcher over a given outbox, and the DNS divergence watch once the coordinator is open.
 */
import type { Clock } from "../../shared/clock.ts";
import type { Config } from "../../shared/config-schema.ts";
import type { Logger } from "../../shared/log.ts";
import type { Coordinator } from "../coordinator.ts";
import type { AlertCounters } from "../metrics.ts";
import type { AuditEvent, Store } from "../store/store.ts";
import { AlertDispatcher, type RetryPolicy } from "./dispatcher.ts";
import { DivergenceWatch } from "./divergence.ts";
import { createDestinations } from "./factory.ts";
import type { Outbox } from "./outbox.ts";

/** Alerting of one coordinator. */
export interface Alerts {
  dispatcher: AlertDispatcher;
  /** The coordinator's `onEvents`: buffers and returns at once. */
  enqueue(events: AuditEvent[]): void;
  /** Starts the divergence watch on an open coordinator. */
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
  const destinations = [];
  for (const d of createDestinations(config, { env: options.env, world: { fetch: options.fetch, clock } })) {
    if (d.ok) destinations.push(d);
    else log.error(`${d.message}; its alerts are not sent (${d.path})`);
  }
  const dispatcher = new AlertDispatcher({
    config,
    destinations,
    outbox: options.outbox,
    readEvents: (afterId) => options.store.listEvents({ afterId, limit: 500 }),
    clock,
    log,
    ...(options.retry ? { retry: options.retry } : {}),
    ...(options.counters ? { counters: options.counters } : {}),
  });
  await dispatcher.start();
  let divergence: DivergenceWatch | null = null;
  return {
    dispatcher,
    enqueue: (events) => dispatcher.enqueue(events),
    watch(coordinator) {
      if (destinations.length === 0) return;
      const services = new Map(config.services.map((svc) => [coordinator.routerName(svc), svc.name]));
      divergence = new DivergenceWatch({
        states: () => coordinator.reconciler.states(),
        services,
        record: (event) => coordinator.recordEvent(event),
        clock,
        log,
        ...(options.divergedAfterMs !== undefined ? { thresholdMs: options.divergedAfterMs } : {}),
      });
      divergence.start();
    },
    stop() {
      divergence?.stop();
      dispatcher.stop();
    },
  };
}
