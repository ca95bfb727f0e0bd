/** The `healthmesh` command line (CONTRACT §2). Exit codes: 0 ok, 1 runtime failure, 2 invalid input. */
import { parseArgs } from "node:util";
import { ProviderSetupError } from "../coordinator/dns/factory.ts";
import { EnvError, startCoordinator } from "../coordinator/node.ts";
import { DataDirInUseError } from "../coordinator/node-runtime.ts";
import { runNodeProbe } from "../probes/node.ts";
import { configJsonSchema } from "../shared/config.ts";
import { lineLogger } from "../shared/log.ts";
import { printStatus } from "./status.ts";
import { callApi, loadConfigFile, operatorToken, UsageError } from "./util.ts";

const USAGE = `Usage: healthmesh <command> [options]

Commands:
  validate [--online]              check the config and print every problem with its YAML path;
                                   --online also checks tokens, zones and TTL limits on every provider
  plan                             show, per DNS provider, the changes to the declared records
  apply [--yes] [--force]          apply the plan (--force: allow changing more than 30 % of the records)
  schema                           print the JSON Schema of the config
  coordinator [--host H] [--port P] [--data DIR]
                                   run the coordinator (default 127.0.0.1:8080, data ./.healthmesh)
  probe --id ID --coordinator URL[,URL...]
                                   run a push-mode probe (secret from HEALTHMESH_PROBE_SECRET)
  status [--coordinator URL] [--json]
  failover SERVICE --to primary|secondary [--reason TEXT]
  pause SERVICE [--reason TEXT]
  resume SERVICE [--reason TEXT]
  alert test [--to NAME]           send a test message to each configured alert destination
  demo                             run the whole mesh on this machine and watch a failover

Common options:
  --config FILE                    config file (default ./healthmesh.yaml)
  --coordinator URL                coordinator for status and operator actions
                                   (default $HEALTHMESH_COORDINATOR or http://127.0.0.1:8080)
`;

const options = {
  config: { type: "string", default: "./healthmesh.yaml" },
  host: { type: "string", default: "127.0.0.1" },
  port: { type: "string", default: "8080" },
  data: { type: "string", default: "./.healthmesh" },
  id: { type: "string" },
  coordinator: { type: "string" },
  to: { type: "string" },
  reason: { type: "string" },
  json: { type: "boolean", default: false },
  online: { type: "boolean", default: false },
  yes: { type: "boolean", default: false },
  force: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

/** Runs one CLI invocation; resolves to the exit code (long-running commands resolve when they stop). */
export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<
    typeof parseArgs<{ args: string[]; options: typeof options; allowPositionals: true }>
  >;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true });
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`); // parseArgs throws TypeError with a clear message
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 2;
  }
  try {
    return await run(command, rest, values);
  } catch (error) {
    if (
      error instanceof UsageError ||
      error instanceof EnvError ||
      error instanceof ProviderSetupError ||
      error instanceof DataDirInUseError
    ) {
      console.error(error.message);
      return 2;
    }
    console.error(`healthmesh ${command}: ${(error as Error).message ?? String(error)}`);
    return 1;
  }
}

type Values = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>["values"];

async function run(command: string, rest: string[], values: Values): Promise<number> {
  const coordinatorUrl = values.coordinator ?? process.env.HEALTHMESH_COORDINATOR ?? "http://127.0.0.1:8080";
  const token = () => operatorToken(values.config, values.config !== options.config.default);
  switch (command) {
    case "validate": {
      const config = loadConfigFile(values.config);
      console.log(`${values.config}: valid`);
      if (values.online) {
        const { runValidateOnline } = await import("./zone.ts");
        return runValidateOnline(config, {
          env: (name) => process.env[name],
          fetch,
          write: (line) => console.log(line),
        });
      }
      return 0;
    }
    case "plan":
    case "apply": {
      const config = loadConfigFile(values.config);
      const { runApply, runPlan } = await import("./zone.ts");
      const zoneWorld = {
        env: (name: string) => process.env[name],
        fetch,
        write: (line: string) => console.log(line),
        ...(process.stdin.isTTY && process.stdout.isTTY ? { confirm: askOnTerminal } : {}),
      };
      if (command === "plan") return runPlan(config, zoneWorld);
      return runApply(config, zoneWorld, { yes: values.yes, force: values.force });
    }
    case "schema":
      console.log(JSON.stringify(configJsonSchema(), null, 2));
      return 0;
    case "coordinator": {
      const config = loadConfigFile(values.config);
      const port = Number(values.port);
      if (!Number.isInteger(port) || port < 0 || port > 65_535)
        throw new UsageError(`Invalid --port "${values.port}"`);
      const running = await startCoordinator({
        config,
        dataDir: values.data,
        host: values.host,
        port,
        env: process.env,
        log: lineLogger((line) => console.error(line)),
      });
      console.error(`healthmesh coordinator listening on ${running.url} (data in ${values.data})`);
      await new Promise<void>((resolve) => {
        const stop = () => void running.close().then(resolve);
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      return 0;
    }
    case "probe": {
      if (!values.id) throw new UsageError("Missing --id: the probe's id as configured under probes.members");
      if (!values.coordinator)
        throw new UsageError("Missing --coordinator: one or more coordinator URLs, comma-separated");
      const secret = process.env.HEALTHMESH_PROBE_SECRET;
      if (!secret) throw new UsageError("Missing probe secret: set HEALTHMESH_PROBE_SECRET");
      const coordinators = values.coordinator.split(",").map((url) => url.trim().replace(/\/$/, ""));
      for (const url of coordinators) {
        if (!/^https?:\/\/[^/]+/.test(url)) throw new UsageError(`Invalid --coordinator URL "${url}"`);
      }
      runNodeProbe({ id: values.id, coordinators, secret });
      await new Promise<never>(() => {});
      return 0;
    }
    case "status": {
      const status = await callApi(coordinatorUrl, "/v1/status", { token: token() });
      if (values.json) console.log(JSON.stringify(status, null, 2));
      else printStatus(status, { color: Boolean(process.stdout.isTTY) });
      return 0;
    }
    case "failover":
    case "pause":
    case "resume": {
      const service = rest[0];
      if (!service) throw new UsageError(`Missing SERVICE: healthmesh ${command} SERVICE`);
      const body: Record<string, string> = { actor: `cli:${process.env.USER ?? "operator"}` };
      if (values.reason) body.reason = values.reason;
      if (command === "failover") {
        if (values.to !== "primary" && values.to !== "secondary")
          throw new UsageError("Missing or invalid --to: primary or secondary");
        body.to = values.to;
      }
      await callApi(coordinatorUrl, `/v1/services/${encodeURIComponent(service)}/${command}`, {
        method: "POST",
        body,
        token: token(),
      });
      console.log(`${command} ${service}: done`);
      return 0;
    }
    case "alert": {
      if (rest[0] !== "test")
        throw new UsageError(
          `Unknown alert command "${rest[0] ?? ""}": use healthmesh alert test [--to NAME]`,
        );
      const { runAlertTest } = await import("./alert.ts");
      const config = loadConfigFile(values.config);
      const env = (name: string) => process.env[name];
      return runAlertTest(config, {
        env,
        fetch,
        write: (line) => console.log(line),
        ...(values.to ? { to: values.to } : {}),
      });
    }
    case "demo": {
      const { runDemo } = await import("../demo/demo.ts");
      return runDemo({ write: (line) => console.log(line) });
    }
    default:
      throw new UsageError(`Unknown command "${command}"\n\n${USAGE}`);
  }
}

/** Asks a yes/no question on the terminal; only "y" or "yes" counts as yes. */
async function askOnTerminal(question: string): Promise<boolean> {
  const { createInterface } = await import("node:readline/promises");
  const terminal = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await terminal.question(question)).trim());
  } finally {
    terminal.close();
  }
}
