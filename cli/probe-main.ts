/**
 * Entry of the bundled Node probe, `node healthmesh-probe.mjs [--id ID] [--coordinator URL,...]`:
 * one file with no dependencies beside it (built by `npm run build:probe`). Exits 2 on bad input or
 * a Node that is too old, so a service manager can stop restarting it.
 */
import { parseArgs } from "node:util";
import { nodeVersionProblem } from "./node-version.ts";
import { ProbeSettingsError, probeSettings, runProbe } from "./probe.ts";

const USAGE = `Usage: node healthmesh-probe.mjs [--id ID] [--coordinator URL[,URL...]]
  --id           the probe's id under probes.members (default $HEALTHMESH_PROBE_ID)
  --coordinator  coordinator URLs, comma-separated (default $HEALTHMESH_COORDINATORS)
The secret comes from $HEALTHMESH_PROBE_SECRET.`;

const options = {
  id: { type: "string" },
  coordinator: { type: "string" },
  help: { type: "boolean" },
} as const;

async function start(argv: string[]): Promise<number> {
  const tooOld = nodeVersionProblem(process.versions.node);
  if (tooOld) {
    console.error(tooOld);
    return 2;
  }
  let values: { id?: string | undefined; coordinator?: string | undefined; help?: boolean | undefined };
  try {
    values = parseArgs({ args: argv, options }).values;
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`); // parseArgs throws TypeError with a clear message
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  try {
    return await runProbe(probeSettings(values, (name) => process.env[name]));
  } catch (error) {
    if (!(error instanceof ProbeSettingsError)) throw error;
    console.error(error.message);
    return 2;
  }
}

process.exitCode = await start(process.argv.slice(2));
