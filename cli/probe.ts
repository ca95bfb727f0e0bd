/**
 * The `probe` command on its own: settings from flags or environment, and
 * the start of the push probe. It imports nothing from the coordinator, so the bundled probe
 * (`dist/probe/healthmesh-probe.mjs`) carries only the probe.
 */
import { runNodeProbe } from "../probes/node.ts";

/** What `healthmesh probe` needs to run. */
export interface ProbeSettings {
  id: string;
  coordinators: string[];
  secret: string;
}

/** A setting that is missing or malformed; the command prints it and exits 2. */
export class ProbeSettingsError extends Error {}

/**
 * Reads the probe's settings: `--id`/`--coordinator` when given, else `HEALTHMESH_PROBE_ID` and
 * `HEALTHMESH_COORDINATORS` (as the images and units set them); the secret only from the environment.
 */
export function probeSettings(
  flags: { id?: string | undefined; coordinator?: string | undefined },
  env: (name: string) => string | undefined,
): ProbeSettings {
  const id = flags.id ?? env("HEALTHMESH_PROBE_ID");
  if (!id)
    throw new ProbeSettingsError(
      "Missing --id: the probe's id as configured under probes.members (or set HEALTHMESH_PROBE_ID)",
    );
  const list = flags.coordinator ?? env("HEALTHMESH_COORDINATORS");
  if (!list)
    throw new ProbeSettingsError(
      "Missing --coordinator: one or more coordinator URLs, comma-separated (or set HEALTHMESH_COORDINATORS)",
    );
  const secret = env("HEALTHMESH_PROBE_SECRET");
  if (!secret) throw new ProbeSettingsError("Missing probe secret: set HEALTHMESH_PROBE_SECRET");
  const coordinators = list.split(",").map((url) => url.trim().replace(/\/$/, ""));
  for (const url of coordinators) {
    if (!/^https?:\/\/[^/]+/.test(url)) throw new ProbeSettingsError(`Invalid --coordinator URL "${url}"`);
  }
  return { id, coordinators, secret };
}

/** Starts the push probe and never resolves: it runs until SIGINT or SIGTERM ends the process. */
export async function runProbe(settings: ProbeSettings): Promise<never> {
  runNodeProbe(settings);
  return new Promise<never>(() => {});
}
