/**
 * Deno Deploy entry of the pull-mode probe: `Deno.serve` answers the coordinator's signed pulls and
 * `Deno.cron` pushes a backstop report every minute. Settings come from the environment (see pull.ts).
 */
import { systemClock } from "../shared/clock.ts";
import { lineLogger } from "../shared/log.ts";
import { limitsFromEnv, SERVER_LIMITS } from "./limits.ts";
import { createPullProbe, type PullProbe, pullProbeSettings } from "./pull.ts";

const env = (name: string) => Deno.env.get(name);
let probe: PullProbe | null = null;

// Built on first use, so a missing setting is answered with a JSON error instead of a crash at load.
function current(): PullProbe {
  if (!probe) {
    const settings = pullProbeSettings(env);
    probe = createPullProbe({
      ...settings,
      limits: limitsFromEnv(env, SERVER_LIMITS),
      fetch: (input, init) => fetch(input, init),
      clock: systemClock(),
      log: lineLogger((line) => console.error(line), `probe ${settings.id}: `),
    });
  }
  return probe;
}

// Deno Deploy finds crons by evaluating the module's top level, so this comes before anything that can throw.
Deno.cron("healthmesh backstop report", "* * * * *", async () => {
  await current().backstop();
});

// Deno Deploy chooses the address itself; HEALTHMESH_LISTEN ("127.0.0.1:0") is for running it elsewhere.
const listen = env("HEALTHMESH_LISTEN")?.match(/^(.+):(\d+)$/);
const serveOptions = listen
  ? {
      hostname: listen[1] ?? "127.0.0.1",
      port: Number(listen[2]),
      onListen: (address: { hostname: string; port: number }) =>
        console.log(`Listening on http://${address.hostname}:${address.port}`),
    }
  : {};
Deno.serve(serveOptions, async (request) => {
  try {
    return await current().handle(request);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return Response.json({ error: { code: "probe_misconfigured", message } }, { status: 500 });
  }
});

// Announces the probe right after a start instead of waiting for the first cron minute.
if (env("HEALTHMESH_BACKSTOP_AT_START") === "1") void current().backstop({ force: true });
