/**
 * Cloudflare Workers entry of the coordinator: every request goes to the one `DurableCoordinator`
 * object, and a cron trigger wakes it each minute so its interval alarm is armed even with no traffic.
 */
export { DurableCoordinator } from "./durable-coordinator.ts";

/** The part of `DurableObjectNamespace` (@cloudflare/workers-types) the entry uses. */
interface CoordinatorNamespace {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(request: Request): Promise<Response> };
}

/** The Worker's bindings: the Durable Object namespace and, optionally, the object's name. */
interface Env {
  COORDINATOR: CoordinatorNamespace;
  HEALTHMESH_COORDINATOR_NAME?: string;
}

interface Context {
  waitUntil(promise: Promise<unknown>): void;
}

function coordinatorOf(env: Env) {
  return env.COORDINATOR.get(env.COORDINATOR.idFromName(env.HEALTHMESH_COORDINATOR_NAME ?? "healthmesh"));
}

// A default export because the Workers runtime finds a module Worker's handlers there.
export default {
  fetch(request: Request, env: Env): Promise<Response> {
    return coordinatorOf(env).fetch(request);
  },
  scheduled(_controller: unknown, env: Env, context: Context): void {
    // Any request opens the object, and opening arms its alarm when none is set.
    context.waitUntil(coordinatorOf(env).fetch(new Request("https://coordinator/healthz")));
  },
};
