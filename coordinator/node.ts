/** Node entry of the coordinator: opens the SQLite store, builds the app and serves it. */
import { systemClock } from "../shared/clock.ts";
import type { Config } from "../shared/config-schema.ts";
import type { Logger } from "../shared/log.ts";
import { startAlerts } from "./alerts/alerts.ts";
import { destinationNames } from "./alerts/factory.ts";
import { SqliteOutbox } from "./alerts/outbox-sqlite.ts";
import { buildApp } from "./app.ts";
import { OperatorSetupError, type OperatorToken, operatorTokens } from "./auth.ts";
import { Coordinator, type CoordinatorDeps } from "./coordinator.ts";
import { createProviders } from "./dns/factory.ts";
import { type RunningWatch, startNameserverWatch } from "./dns/nameserver-node.ts";
import { routerTtlProblems } from "./dns/preflight.ts";
import type { DnsProvider } from "./dns/provider.ts";
import { joinCluster, longestRequest } from "./ha/cluster.ts";
import { CoordinatorMetrics } from "./metrics.ts";
import { type BoundServer, bindServer, lockDataDir } from "./node-runtime.ts";
import { PullLoop } from "./pull.ts";
import { Retention } from "./retention.ts";
import { refusalReasons } from "./routes/probes.ts";
import { SqliteStore } from "./store/sqlite.ts";

/** A missing environment variable that the config names; exit code 2. */
export class EnvError extends Error {}

/** Everything a running coordinator holds, to inspect and close. */
export interface RunningCoordinator {
  url: string;
  coordinator: Coordinator;
  /** The pull loop over the pull-mode members (idle when there are none). */
  pulls: PullLoop;
  close(): Promise<void>;
}

/** What a coordinator is started with. */
export interface StartOptions {
  config: Config;
  dataDir: string;
  host: string;
  port: number;
  env: NodeJS.ProcessEnv;
  log: Logger;
  providers?: DnsProvider[];
  onEvents?: CoordinatorDeps["onEvents"];
}

/**
 * Starts a coordinator on `host:port` with its store in `dataDir`. The port is bound and the data
 * directory claimed before anything is written or any DNS provider is called.
 */
export async function startCoordinator(options: StartOptions): Promise<RunningCoordinator> {
  const { config, env } = options;
  let operators: OperatorToken[];
  try {
    operators = operatorTokens(config, (name) => env[name]);
  } catch (error) {
    if (error instanceof OperatorSetupError) throw new EnvError(error.message);
    throw error;
  }
  const secrets = new Map<string, string>();
  config.probes.members.forEach((member, i) => {
    const secret = env[member.secretEnv];
    if (!secret)
      throw new EnvError(
        `Missing probe secret: set ${member.secretEnv} (probes.members[${i}].secretEnv, probe "${member.id}")`,
      );
    secrets.set(member.id, secret);
  });
  const release = lockDataDir(options.dataDir);
  let bound: BoundServer;
  try {
    bound = await bindServer(options.host, options.port);
  } catch (error) {
    release();
    throw error;
  }
  try {
    return await assemble(options, { operators, secrets, bound, release });
  } catch (error) {
    await bound.close();
    release();
    throw error;
  }
}

/** Opens the store, alerting, the coordinator, the app and the pull loop behind an already bound port. */
async function assemble(
  options: StartOptions,
  held: { operators: OperatorToken[]; secrets: Map<string, string>; bound: BoundServer; release: () => void },
): Promise<RunningCoordinator> {
  const { config, env } = options;
  const { operators, secrets, bound } = held;
  const clock = systemClock();
  const ttlProblems = await routerTtlProblems(
    config,
    options.providers ?? createProviders(config, { env: (name) => env[name], fetch, clock }),
    { clock, log: options.log },
  );
  if (ttlProblems.length > 0) throw new EnvError(ttlProblems.join("\n"));
  const local = new SqliteStore(options.dataDir);
  const ha = config.coordinator.ha;
  const cluster = ha
    ? joinCluster({
        config,
        ha,
        env: (name) => env[name],
        fetch,
        clock,
        monotonic: () => performance.now(),
        log: options.log,
        local,
      })
    : null;
  const store = cluster?.store ?? local;
  // In a cluster every provider request is fenced by this member's leadership (coordinator/ha/dns-fence.ts).
  const providers =
    options.providers ??
    createProviders(config, { env: (name) => env[name], fetch: cluster?.providerFetch ?? fetch, clock });
  // One set of counters: the alert engine feeds its deliveries into what /metrics serves.
  const metrics = new CoordinatorMetrics({ refusalReasons, destinations: destinationNames(config.alerts) });
  const outbox = new SqliteOutbox(local.db);
  const alerts = await startAlerts({
    counters: metrics.alerts,
    config,
    env: (name) => env[name],
    outbox,
    store,
    fetch,
    clock,
    log: options.log,
  });
  const listener = options.onEvents;
  let nameservers: RunningWatch | null = null;
  const coordinator = await Coordinator.open({
    config,
    store,
    clock,
    log: options.log,
    providers,
    onEvents: (events) => {
      alerts.enqueue(cluster ? events.filter(cluster.alertsHere) : events);
      nameservers?.onEvents(events);
      listener?.(events);
    },
    ...(cluster ? { canDecide: cluster.leads, dnsActive: cluster.leads, cluster: cluster.status } : {}),
  }).catch(async (error: unknown) => {
    alerts.stop(); // its timers would keep a failed start's process alive
    await store.close();
    throw error;
  });
  alerts.watch(coordinator);
  nameservers = startNameserverWatch(coordinator, {
    env: (name) => env[name],
    fetch,
    clock,
    log: options.log,
  });
  const pulls = new PullLoop({
    coordinator,
    secretFor: (id) => secrets.get(id),
    fetch,
    clock,
    log: options.log,
    ingest: async (request) => app.fetch(request),
  });
  const app = buildApp({
    metrics,
    coordinator,
    clock,
    log: options.log,
    operators,
    secretFor: (id) => secrets.get(id),
    // Every accepted report may call for pull members to confirm a suspected failure at once.
    onAccepted: (_probe, report) => pulls.noticeReport(report),
  });
  bound.setHandler(app.fetch);
  coordinator.start();
  const retention = new Retention({
    store,
    outbox,
    eventsDoneThrough: () => alerts.eventsDoneThrough(),
    retention: config.coordinator.retention,
    clock,
    log: options.log,
  });
  retention.start();
  cluster?.attach(coordinator, { longestRequestMs: longestRequest(config) });
  pulls.start();
  return {
    url: `http://${options.host}:${bound.port}`,
    coordinator,
    pulls,
    async close() {
      pulls.stop();
      await cluster?.stop();
      coordinator.stop();
      retention.stop();
      await retention.idle();
      await nameservers?.stop();
      alerts.stop();
      await bound.close();
      await coordinator.reconciler.idle();
      await alerts.dispatcher.idle();
      await store.close();
      held.release();
    },
  };
}
