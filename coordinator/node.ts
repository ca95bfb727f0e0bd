/** Node entry of the coordinator: opens the SQLite store, builds the app and serves it. */
import { type ServerType, serve } from "@hono/node-server";
import { systemClock } from "../shared/clock.ts";
import type { Config } from "../shared/config-schema.ts";
import type { Logger } from "../shared/log.ts";
import { startAlerts } from "./alerts/alerts.ts";
import { destinationNames } from "./alerts/factory.ts";
import { SqliteOutbox } from "./alerts/outbox-sqlite.ts";
import { buildApp } from "./app.ts";
import { Coordinator, type CoordinatorDeps } from "./coordinator.ts";
import { createProviders } from "./dns/factory.ts";
import { routerTtlProblems } from "./dns/preflight.ts";
import type { DnsProvider } from "./dns/provider.ts";
import { CoordinatorMetrics } from "./metrics.ts";
import { PullLoop } from "./pull.ts";
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

/** Starts a coordinator on `host:port` with its store in `dataDir`. */
export async function startCoordinator(options: {
  config: Config;
  dataDir: string;
  host: string;
  port: number;
  env: NodeJS.ProcessEnv;
  log: Logger;
  providers?: DnsProvider[];
  onEvents?: CoordinatorDeps["onEvents"];
}): Promise<RunningCoordinator> {
  const { config, env } = options;
  const apiToken = env[config.coordinator.apiTokenEnv];
  if (!apiToken)
    throw new EnvError(
      `Missing API token: set the environment variable ${config.coordinator.apiTokenEnv} (coordinator.apiTokenEnv)`,
    );
  const secrets = new Map<string, string>();
  config.probes.members.forEach((member, i) => {
    const secret = env[member.secretEnv];
    if (!secret)
      throw new EnvError(
        `Missing probe secret: set ${member.secretEnv} (probes.members[${i}].secretEnv, probe "${member.id}")`,
      );
    secrets.set(member.id, secret);
  });
  const clock = systemClock();
  const providers = options.providers ?? createProviders(config, { env: (name) => env[name], fetch, clock });
  const ttlProblems = await routerTtlProblems(config, providers, { clock, log: options.log });
  if (ttlProblems.length > 0) throw new EnvError(ttlProblems.join("\n"));
  const store = new SqliteStore(options.dataDir);
  // One set of counters: the alert engine feeds its deliveries into what /metrics serves.
  const metrics = new CoordinatorMetrics({ refusalReasons, destinations: destinationNames(config.alerts) });
  const alerts = await startAlerts({
    counters: metrics.alerts,
    config,
    env: (name) => env[name],
    outbox: new SqliteOutbox(store.db),
    store,
    fetch,
    clock,
    log: options.log,
  });
  const listener = options.onEvents;
  const coordinator = await Coordinator.open({
    config,
    store,
    clock,
    log: options.log,
    providers,
    onEvents: (events) => {
      alerts.enqueue(events);
      listener?.(events);
    },
  });
  alerts.watch(coordinator);
  const app = buildApp({
    metrics,
    coordinator,
    clock,
    log: options.log,
    apiToken,
    secretFor: (id) => secrets.get(id),
  });
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: options.host, port: options.port }, () => resolve(s));
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  coordinator.start();
  const pulls = new PullLoop({
    coordinator,
    secretFor: (id) => secrets.get(id),
    fetch,
    clock,
    log: options.log,
    ingest: async (request) => app.fetch(request),
  });
  pulls.start();
  return {
    url: `http://${options.host}:${port}`,
    coordinator,
    pulls,
    async close() {
      pulls.stop();
      coordinator.stop();
      alerts.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await coordinator.reconciler.idle();
      await alerts.dispatcher.idle();
      await store.close();
    },
  };
}
