/** The `coordinator` command, loaded only when it runs: it alone needs the store and native SQLite. */
import { ProviderSetupError } from "../coordinator/dns/factory.ts";
import { EnvError, startCoordinator } from "../coordinator/node.ts";
import { DataDirInUseError } from "../coordinator/node-runtime.ts";
import { lineLogger } from "../shared/log.ts";
import { loadConfigFile, UsageError } from "./util.ts";

/** Runs the coordinator until SIGINT or SIGTERM; setup problems (env, providers, data dir) are `UsageError`s. */
export async function runCoordinatorCommand(values: {
  config: string;
  host: string;
  port: string;
  data: string;
}): Promise<number> {
  const config = loadConfigFile(values.config);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new UsageError(`Invalid --port "${values.port}"`);
  let running: Awaited<ReturnType<typeof startCoordinator>>;
  try {
    running = await startCoordinator({
      config,
      dataDir: values.data,
      host: values.host,
      port,
      env: process.env,
      log: lineLogger((line) => console.error(line)),
    });
  } catch (error) {
    if (
      error instanceof EnvError ||
      error instanceof ProviderSetupError ||
      error instanceof DataDirInUseError
    )
      throw new UsageError(error.message);
    throw error;
  }
  console.error(`healthmesh coordinator listening on ${running.url} (data in ${values.data})`);
  await new Promise<void>((resolve) => {
    const stop = () => void running.close().then(resolve);
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  return 0;
}
