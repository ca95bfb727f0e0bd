/**
 * The coordinator put together from a runtime's parts, the same way on every runtime: DNS providers
 * (fenced in a cluster), the HA membership, alerting over the runtime's outbox, the coordinator, the
 * pull loop and the app. A runtime entry only picks its parts — the store and outbox, `fetch`, the
 * clock, how interval work is driven (timers or alarms) and runtime-only watches — then serves `app`.
 */
import type { Clock } from "../shared/clock.ts";
import type { Config } from "../shared/config-schema.ts";
import type { Logger } from "../shared/log.ts";
import { type Alerts, startAlerts } from "./alerts/alerts.ts";
import { destinationNames } from "./alerts/factory.ts";
import type { Outbox } from "./alerts/outbox.ts";
import { buildApp } from "./app.ts";
import type { OperatorToken } from "./auth.ts";
import { Coordinator, type CoordinatorDeps } from "./coordinator.ts";
import { createProviders } from "./dns/factory.ts";
import { routerTtlProblems } from "./dns/preflight.ts";
import type { DnsProvider } from "./dns/provider.ts";
import { type Cluster, joinCluster, longestRequest } from "./ha/cluster.ts";
import { CoordinatorMetrics } from "./metrics.ts";
import { PullLoop } from "./pull.ts";
import { Retention } from "./retention.ts";
import { refusalReasons } from "./routes/probes.ts";
import type { AuditEvent, Store } from "./store/store.ts";

/** A router TTL the providers refuse (deSEC's `minimum_ttl`); nothing was started. */
export class RouterTtlError extends Error {
  readonly retryable = false;
  override readonly name = "RouterTtlError";
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
  }
}

/** A runtime-only watch on the open coordinator (the Node entry's nameserver checks). */
export interface RuntimeWatch {
  onEvents(events: readonly AuditEvent[]): void;
  stop(): Promise<void>;
}

/** What a runtime gives the coordinator. */
export interface RuntimeParts {
  config: Config;
  env: (name: string) => string | undefined;
  fetch: typeof fetch;
  clock: Clock;
  /** Monotonic milliseconds for an HA leader's deadline (defaults to `clock.now`). */
  monotonic?: () => number;
  log: Logger;
  /** Opens this coordinator's own store (votes, replay ids, audit log, provider rows) and its alert outbox. */
  open(): { local: Store; outbox: Outbox };
  operators: OperatorToken[];
  secretFor: (probeId: string) => string | undefined;
  /** Interval work on in-process timers, or one `tick()` per alarm the runtime delivers. */
  ticks: "timers" | "alarm";
  /** DNS providers to use instead of those the config names (tests). */
  providers?: readonly DnsProvider[];
  onEvents?: CoordinatorDeps["onEvents"];
  /** Started on the open coordinator; it hears every event and is stopped with the rest. */
  watch?: (coordinator: Coordinator) => RuntimeWatch;
}

/** An assembled coordinator: serve `app.fetch`, then `start()`. */
export interface Assembly {
  coordinator: Coordinator;
  app: { fetch(request: Request): Response | Promise<Response> };
  pulls: PullLoop;
  /** The store decisions go through (the HA store in a cluster). */
  store: Store;
  cluster: Cluster | null;
  alerts: Alerts;
  /** Starts the interval work (with timers) and joins the cluster's election. */
  start(): void;
  /** One interval's work at once: a decision round, a pull round, a bounded retention catch-up. Never throws. */
  tick(): Promise<void>;
  /** Stops timers, leaves the cluster (a leader hands over at once) and stops the watches. */
  stop(): Promise<void>;
  /** Waits for DNS and alert work in flight, then closes the store; after `stop()`. */
  close(): Promise<void>;
}

/** Pruning batches per tick: a backlog (a lowered retention) clears over a few ticks, none of them long. */
const PRUNE_BATCHES_PER_TICK = 10;

/** Builds the coordinator from `parts`; throws `RouterTtlError` before anything runs when a TTL is refused. */
export async function assemble(parts: RuntimeParts): Promise<Assembly> {
  const { config, env, clock, log } = parts;
  const checked = parts.providers ?? createProviders(config, { env, fetch: parts.fetch, clock });
  const ttlProblems = await routerTtlProblems(config, checked, { clock, log });
  if (ttlProblems.length > 0) throw new RouterTtlError(ttlProblems);
  const { local, outbox } = parts.open();
  const cluster = joinIfHa(parts, local);
  const store = cluster?.store ?? local;
  // In a cluster every provider request is fenced by this member's leadership (coordinator/ha/dns-fence.ts).
  const providers =
    cluster && !parts.providers
      ? createProviders(config, { env, fetch: cluster.providerFetch, clock })
      : checked;
  // One set of counters: the alert engine feeds its deliveries into what /metrics serves.
  const metrics = new CoordinatorMetrics({ refusalReasons, destinations: destinationNames(config.alerts) });
  const alerts = await startAlerts({
    counters: metrics.alerts,
    config,
    env,
    outbox,
    store,
    fetch: parts.fetch,
    clock,
    log,
  });
  let watch: RuntimeWatch | null = null;
  const coordinator = await Coordinator.open({
    config,
    store,
    clock,
    log,
    providers,
    onEvents: (events) => {
      alerts.enqueue(cluster ? events.filter(cluster.alertsHere) : events);
      watch?.onEvents(events);
      parts.onEvents?.(events);
    },
    ...(cluster ? { canDecide: cluster.leads, dnsActive: cluster.leads, cluster: cluster.status } : {}),
  }).catch(async (error: unknown) => {
    alerts.stop(); // its timers would keep a failed start alive
    await store.close();
    throw error;
  });
  alerts.watch(coordinator);
  watch = parts.watch?.(coordinator) ?? null;
  const retention = new Retention({
    store,
    outbox,
    eventsDoneThrough: () => alerts.eventsDoneThrough(),
    retention: config.coordinator.retention,
    clock,
    log,
  });
  return serve(parts, { coordinator, store, cluster, alerts, metrics, watch, retention });
}

function joinIfHa(parts: RuntimeParts, local: Store): Cluster | null {
  const ha = parts.config.coordinator.ha;
  if (!ha) return null;
  const { config, env, fetch, clock, log } = parts;
  return joinCluster({
    config,
    ha,
    env,
    fetch,
    clock,
    log,
    local,
    ...(parts.monotonic ? { monotonic: parts.monotonic } : {}),
  });
}

/** The pull loop and the app over an open coordinator, and the assembly's lifecycle. */
function serve(
  parts: RuntimeParts,
  opened: Pick<Assembly, "coordinator" | "store" | "cluster" | "alerts"> & {
    metrics: CoordinatorMetrics;
    watch: RuntimeWatch | null;
    retention: Retention;
  },
): Assembly {
  const { clock, log } = parts;
  const { coordinator, cluster, alerts, metrics, watch, retention } = opened;
  const pulls = new PullLoop({
    coordinator,
    secretFor: parts.secretFor,
    fetch: parts.fetch,
    clock,
    log,
    ingest: async (request) => app.fetch(request),
  });
  const app = buildApp({
    metrics,
    coordinator,
    clock,
    log,
    operators: parts.operators,
    secretFor: parts.secretFor,
    // Every accepted report may call for pull members to confirm a suspected failure at once.
    onAccepted: (_probe, report) => pulls.noticeReport(report),
  });
  const logged = (what: string) => (error: unknown) => log.error(what, { error: String(error) });
  return {
    coordinator,
    store: opened.store,
    cluster,
    alerts,
    app,
    pulls,
    start() {
      if (parts.ticks === "timers") {
        coordinator.start();
        retention.start();
      }
      cluster?.attach(coordinator, { longestRequestMs: longestRequest(parts.config) });
      if (parts.ticks === "timers") pulls.start();
    },
    async tick() {
      // Faults are logged, not thrown: a runtime that retries a failed alarm would add a round.
      await Promise.all([
        coordinator.evaluate().catch(logged("Decision round failed")),
        retention
          .catchUp({ maxBatches: PRUNE_BATCHES_PER_TICK })
          .catch(logged("Cannot prune past retention")),
        pulls.round(),
      ]);
    },
    async stop() {
      pulls.stop();
      await cluster?.stop();
      coordinator.stop();
      retention.stop();
      await retention.idle();
      await watch?.stop();
      alerts.stop();
    },
    async close() {
      await coordinator.reconciler.idle();
      await alerts.dispatcher.idle();
      await opened.store.close();
    },
  };
}
