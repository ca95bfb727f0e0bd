/**
 * Cloudflare Workers entry of the pull-mode probe: `fetch` answers the coordinator's signed pulls and
 * `scheduled` (a cron trigger in wrangler.toml) pushes a backstop report. Settings come from the
 * Worker's vars and secrets, named as in pull.ts.
 */
import { systemClock } from "../shared/clock.ts";
import { lineLogger } from "../shared/log.ts";
import { limitsFromEnv, WORKERS_LIMITS } from "./limits.ts";
import { createPullProbe, type PullProbe, pullProbeSettings } from "./pull.ts";

/** The Worker's bindings: vars from wrangler.toml, the secret from `wrangler secret put`. */
interface Env {
  HEALTHMESH_PROBE_ID?: string;
  HEALTHMESH_PROBE_SECRET?: string;
  HEALTHMESH_COORDINATORS?: string;
  /** Over the free plan's 6 connections and 50 subrequests, e.g. 1000 subrequests on a paid plan. */
  HEALTHMESH_PROBE_CONCURRENCY?: string;
  HEALTHMESH_PROBE_SUBREQUESTS?: string;
}

interface Context {
  waitUntil(promise: Promise<unknown>): void;
}

// One probe per isolate and settings, so the replay set survives between requests of one isolate.
let current: { key: string; probe: PullProbe } | null = null;

function probeFor(env: Env): PullProbe {
  const read = (name: string) => env[name as keyof Env]; // unknown names read as undefined
  const settings = { ...pullProbeSettings(read), limits: limitsFromEnv(read, WORKERS_LIMITS) };
  const key = JSON.stringify(settings);
  if (current?.key !== key) {
    const probe = createPullProbe({
      ...settings,
      // Workers refuse a `fetch` called with another `this`, so it is wrapped, not passed as is.
      fetch: (input, init) => fetch(input, init),
      clock: systemClock(),
      log: lineLogger((line) => console.log(line), `probe ${settings.id}: `),
    });
    current = { key, probe };
  }
  return current.probe;
}

// A default export because the Workers runtime finds a module Worker's handlers there.
export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    try {
      return await probeFor(env).handle(request);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return Response.json({ error: { code: "probe_misconfigured", message } }, { status: 500 });
    }
  },
  scheduled(_controller: unknown, env: Env, context: Context): void {
    context.waitUntil(probeFor(env).backstop());
  },
};
