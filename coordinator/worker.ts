/**
 * Cloudflare Workers entry of the coordinator: the gate (worker-gate.ts) answers `/healthz`, the
 * pages and every refusal itself, and forwards authenticated requests to the one `DurableCoordinator`
 * object; a cron trigger wakes the object each minute so its interval alarm is armed with no traffic.
 */
import { systemClock } from "../shared/clock.ts";
import { CoordinatorSetupError, readConfig, readSecrets } from "./durable-coordinator.ts";
import { type GateContext, gate } from "./worker-gate.ts";

export { DurableCoordinator } from "./durable-coordinator.ts";

/** The part of `DurableObjectNamespace` (@cloudflare/workers-types) the entry uses. */
interface CoordinatorNamespace {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(request: Request): Promise<Response> };
}

/** The Worker's bindings: the Durable Object namespace, the config and the secrets it names. */
interface Env {
  COORDINATOR: CoordinatorNamespace;
  HEALTHMESH_COORDINATOR_NAME?: string;
  [binding: string]: unknown;
}

interface Context {
  waitUntil(promise: Promise<unknown>): void;
}

const clock = systemClock();
// Parsed once per isolate and config text; a secret change deploys a new version, so a new isolate.
let cached: { text: unknown; settings: Omit<GateContext, "nowMs"> } | null = null;

function gateSettings(env: Env): Omit<GateContext, "nowMs"> {
  if (cached?.text === env.HEALTHMESH_CONFIG) return cached.settings;
  const config = readConfig(env);
  const { apiToken, secretFor } = readSecrets(config, (name) => {
    const value = env[name];
    return typeof value === "string" ? value : undefined;
  });
  cached = { text: env.HEALTHMESH_CONFIG, settings: { config, apiToken, secretFor } };
  return cached.settings;
}

function coordinatorOf(env: Env) {
  return env.COORDINATOR.get(env.COORDINATOR.idFromName(env.HEALTHMESH_COORDINATOR_NAME ?? "healthmesh"));
}

// A default export because the Workers runtime finds a module Worker's handlers there.
export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    let settings: Omit<GateContext, "nowMs">;
    try {
      settings = gateSettings(env);
    } catch (error) {
      if (!(error instanceof CoordinatorSetupError)) throw error;
      return Response.json(
        { error: { code: "coordinator_misconfigured", message: error.message } },
        { status: 500 },
      );
    }
    const decision = await gate(request, { ...settings, nowMs: clock.now() });
    return "answer" in decision ? decision.answer : coordinatorOf(env).fetch(decision.forward);
  },
  scheduled(_controller: unknown, env: Env, context: Context): void {
    // Any request opens the object, and opening arms its alarm when none is set.
    context.waitUntil(coordinatorOf(env).fetch(new Request("https://coordinator/healthz")));
  },
};
