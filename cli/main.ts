/** The `healthmesh` command line (CONTRACT §2). Exit codes: 0 ok, 1 runtime failure, 2 invalid input. */
// Commands load what they need when they run (dynamic imports below): the probe and the operator
// commands never load the coordinator, its store or native SQLite.
import { parseArgs } from "node:util";
import { configJsonSchema } from "../shared/config.ts";
import { printStatus } from "./status.ts";
import { callApi, loadConfigFile, operatorToken, UsageError } from "./util.ts";

const USAGE = `Usage: healthmesh <command> [options]

Commands:
  validate [--online]              check the config and print every problem with its YAML path;
                                   --online also checks tokens, zones and TTL limits on every provider,
                                   then runs doctor
  doctor                           ask every provider's nameservers and the parent zone: NS sets,
                                   Cloudflare's multi-provider setting, SOA serials, DNSSEC verdict
  plan                             show, per DNS provider, the changes to the declared records
  apply [--yes] [--force]          apply the plan (--force: allow changing more than 30 % of the records)
  schema                           print the JSON Schema of the config
  coordinator [--host H] [--port P] [--data DIR]
                                   run the coordinator (default 127.0.0.1:8080, data ./.healthmesh)
  probe --id ID --coordinator URL[,URL...]
                                   run a push-mode probe (secret from HEALTHMESH_PROBE_SECRET)
  status [--coordinator URL[,URL...]] [--json]
  failover SERVICE --to primary|secondary [--reason TEXT]
  pause SERVICE [--reason TEXT]
  resume SERVICE [--reason TEXT]   (status needs a read token; failover, pause, resume an operate one)
  alert test [--to NAME]           send a test message to each configured alert destination
  demo                             run the whole mesh on this machine and watch a failover

Common options:
  --config FILE                    config file (default ./healthmesh.yaml)
  --coordinator URL[,URL...]       coordinator(s) for status and operator actions; the first that answers
                                   (default $HEALTHMESH_COORDINATOR or http://127.0.0.1:8080)
  --as NAME                        act as the operator NAME of coordinator.operators (its tokenEnv);
                                   default: the first whose token is set, coordinator.apiTokenEnv first
`;

const options = {
  config: { type: "string", default: "./healthmesh.yaml" },
  host: { type: "string", default: "127.0.0.1" },
  port: { type: "string", default: "8080" },
  data: { type: "string", default: "./.healthmesh" },
  id: { type: "string" },
  coordinator: { type: "string" },
  as: { type: "string" },
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
    if (error instanceof UsageError || (await isProviderSetupError(error))) {
      console.error(error instanceof Error ? error.message : String(error));
      return 2;
    }
    console.error(`healthmesh ${command}: ${(error as Error).message ?? String(error)}`);
    return 1;
  }
}

type Values = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>["values"];

async function run(command: string, rest: string[], values: Values): Promise<number> {
  const coordinatorUrl = values.coordinator ?? process.env.HEALTHMESH_COORDINATOR ?? "http://127.0.0.1:8080";
  const token = (need: "read" | "operate" = "read") =>
    operatorToken(values.config, values.config !== options.config.default, { as: values.as, need });
  switch (command) {
    case "validate": {
      const config = loadConfigFile(values.config);
      console.log(`${values.config}: valid`);
      if (values.online) {
        const { runValidateOnline } = await import("./zone.ts");
        const online = {
          env: (name: string) => process.env[name],
          fetch,
          write: (line: string) => console.log(line),
        };
        const code = await runValidateOnline(config, online);
        const { runDoctorCommand } = await import("./doctor.ts");
        console.log("doctor (what the providers' nameservers and the parent zone serve):");
        return Math.max(code, await runDoctorCommand(config, online));
      }
      return 0;
    }
    case "doctor": {
      const { runDoctorCommand } = await import("./doctor.ts");
      const env = (name: string) => process.env[name];
      return runDoctorCommand(loadConfigFile(values.config), {
        env,
        fetch,
        write: (line) => console.log(line),
      });
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
      const { runCoordinatorCommand } = await import("./coordinator.ts");
      return runCoordinatorCommand(values);
    }
    case "probe": {
      const { ProbeSettingsError, probeSettings, runProbe } = await import("./probe.ts");
      try {
        return await runProbe(probeSettings(values, (name) => process.env[name]));
      } catch (error) {
        if (error instanceof ProbeSettingsError) throw new UsageError(error.message);
        throw error;
      }
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
      const operate = token("operate");
      const body: Record<string, string> = {}; // the actor is the token's operator, never a body field
      if (values.reason) body.reason = values.reason;
      if (command === "failover") {
        if (values.to !== "primary" && values.to !== "secondary")
          throw new UsageError("Missing or invalid --to: primary or secondary");
        body.to = values.to;
      }
      await callApi(coordinatorUrl, `/v1/services/${encodeURIComponent(service)}/${command}`, {
        method: "POST",
        body,
        token: operate,
      });
      console.log(`${command} ${service}: done (as ${operate.operator})`);
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

/** True for a DNS provider setup error (a missing token: exit 2); loads the DNS factory only after a failure. */
async function isProviderSetupError(error: unknown): Promise<boolean> {
  if (!(error instanceof Error) || error.name !== "ProviderSetupError") return false;
  const { ProviderSetupError } = await import("../coordinator/dns/factory.ts");
  return error instanceof ProviderSetupError;
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
