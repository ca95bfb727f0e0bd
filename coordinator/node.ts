/** Node entry of the coordinator: claims the data dir, binds the port, then assembles the coordinator on SQLite. */
import { systemClock } from "../shared/clock.ts";
import type { Config } from "../shared/config-schema.ts";
import type { Logger } from "../shared/log.ts";
import { SqliteOutbox } from "./alerts/outbox-sqlite.ts";
import { assemble, RouterTtlError } from "./assemble.ts";
import type { Coordinator, CoordinatorDeps } from "./coordinator.ts";
import { startNameserverWatch } from "./dns/nameserver-node.ts";
import type { DnsProvider } from "./dns/provider.ts";
import { type BoundServer, bindServer, lockDataDir } from "./node-runtime.ts";
import type { PullLoop } from "./pull.ts";
import { MissingSecretError, readSecrets, type Secrets } from "./secrets.ts";
import { SqliteStore } from "./store/sqlite.ts";

/** A missing environment variable that the config names, or a router TTL a provider refuses; exit code 2. */
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
  const env = (name: string) => options.env[name];
  const secrets = envOrExit(() => readSecrets(options.config, env));
  const release = lockDataDir(options.dataDir);
  let bound: BoundServer | null = null;
  try {
    bound = await bindServer(options.host, options.port);
    return await serveOn(bound, options, secrets, release);
  } catch (error) {
    await bound?.close();
    release();
    throw error instanceof RouterTtlError ? new EnvError(error.message) : error;
  }
}

async function serveOn(
  bound: BoundServer,
  options: StartOptions,
  secrets: Secrets,
  release: () => void,
): Promise<RunningCoordinator> {
  const clock = systemClock();
  const world = { env: (name: string) => options.env[name], fetch, clock, log: options.log };
  const assembly = await assemble({
    ...world,
    ...secrets,
    config: options.config,
    monotonic: () => performance.now(),
    ticks: "timers",
    open() {
      const local = new SqliteStore(options.dataDir);
      return { local, outbox: new SqliteOutbox(local.db) };
    },
    watch: (coordinator) => startNameserverWatch(coordinator, world),
    ...(options.providers ? { providers: options.providers } : {}),
    ...(options.onEvents ? { onEvents: options.onEvents } : {}),
  });
  bound.setHandler(assembly.app.fetch);
  assembly.start();
  return {
    url: `http://${options.host}:${bound.port}`,
    coordinator: assembly.coordinator,
    pulls: assembly.pulls,
    async close() {
      await assembly.stop();
      await bound.close();
      await assembly.close();
      release();
    },
  };
}

function envOrExit<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw error instanceof MissingSecretError ? new EnvError(error.message) : error;
  }
}
