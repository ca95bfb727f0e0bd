/** Builds the coordinator's Hono app (routes only; a runtime entry serves it). */
import { Hono } from "hono";
import type { Clock } from "../shared/clock.ts";
import type { Logger } from "../shared/log.ts";
import { ActionError, type Coordinator } from "./coordinator.ts";
import { HttpError } from "./http-error.ts";
import { mountOperatorRoutes } from "./routes/operator.ts";
import { mountProbeRoutes, type RefusalReason } from "./routes/probes.ts";

/** What the app is built from. */
export interface AppDeps {
  coordinator: Coordinator;
  clock: Clock;
  log: Logger;
  /** The operator API's bearer token. */
  apiToken: string;
  /** A configured probe's shared secret, or undefined for an unknown probe. */
  secretFor: (probeId: string) => string | undefined;
  onAccepted?: (probeId: string) => void;
  onRefused?: (reason: RefusalReason) => void;
}

/** The coordinator's HTTP app. */
export function buildApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.json({ ok: true }));
  mountProbeRoutes(app, deps);
  mountOperatorRoutes(app, deps);
  app.notFound((c) =>
    c.json({ error: { code: "not_found", message: `No route for ${c.req.method} ${c.req.path}` } }, 404),
  );
  app.onError((error, c) => {
    if (error instanceof HttpError) return c.json(error.body(), error.status);
    if (error instanceof ActionError)
      return c.json({ error: { code: error.code, message: error.message } }, error.status);
    deps.log.error("Unhandled error", { error: String(error), path: c.req.path });
    return c.json({ error: { code: "internal", message: "Internal error: see the coordinator log" } }, 500);
  });
  return app;
}
