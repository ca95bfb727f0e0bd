/**
 * Cloudflare Workers entry of the coordinator: the gate (worker-gate.ts) answers `/healthz`, the
 * pages and every refusal itself, and forwards authenticated requests to the one `DurableCoordinator`
 * object; a cron trigger wakes the object each minute so its interval alarm is armed with no traffic.
 */
import { env as startupEnv } from "cloudflare:workers";
import { systemClock } from "../shared/clock.ts";
import { type GateContext, gate } from "./worker-gate.ts";
import { bindingOf, CoordinatorSetupError, readConfig, readWorkerSecrets } from "./worker-setup.ts";

export { DurableCoordinator } from "./durable-coordinator.ts";

/** The part of `DurableObjectNamespace` (@cloudflare/workers-types) the entry uses. */
interface CoordinatorNamespace {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(request: Request): Promise<Response> };
}

/** The Worker's bindings the handlers use (the gate reads the config and secrets at startup). */
interface Env {
  COORDINATOR: CoordinatorNamespace;
  HEALTHMESH_COORDINATOR_NAME?: string;
}

interface Context {
  waitUntil(promise: Promise<unknown>): void;
}

const clock = systemClock();

/**
 * Parses the config and reads the secrets the gate needs. It runs once, at module scope: parsing
 * the config takes milliseconds of CPU, which there counts against the isolate's startup allowance
 * instead of a request's (10 ms a request on the Free plan). A secret or config change deploys a new
 * version, so new isolates start with it.
 */
function loadGateSettings(
  bindings: Record<string, unknown>,
): Omit<GateContext, "nowMs"> | CoordinatorSetupError {
  try {
    const config = readConfig(bindings);
    const { operators, secretFor } = readWorkerSecrets(config, bindingOf(bindings));
    return { config, operators, secretFor };
  } catch (error) {
    if (error instanceof CoordinatorSetupError) return error;
    throw error;
  }
}

const settings = loadGateSettings(startupEnv);

function coordinatorOf(env: Env) {
  return env.COORDINATOR.get(env.COORDINATOR.idFromName(env.HEALTHMESH_COORDINATOR_NAME ?? "healthmesh"));
}

// A default export because the Workers runtime finds a module Worker's handlers there.
export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    if (settings instanceof CoordinatorSetupError) {
      const error = { code: "coordinator_misconfigured", message: settings.message };
      return Response.json({ error }, { status: 500 });
    }
    const decision = await gate(request, { ...settings, nowMs: clock.now() });
    return "answer" in decision ? decision.answer : coordinatorOf(env).fetch(decision.forward);
  },
  scheduled(_controller: unknown, env: Env, context: Context): void {
    // Any request opens the object, and opening arms its alarm when none is set.
    context.waitUntil(coordinatorOf(env).fetch(new Request("https://coordinator/healthz")));
  },
};
