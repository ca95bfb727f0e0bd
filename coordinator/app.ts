/**
 * Builds the coordinator's Hono app (routes only; a runtime entry serves it). Every route is defined
 * with `@hono/zod-openapi` from the schemas in shared/api-schema.ts, so `GET /openapi.json` documents
 * exactly what is validated.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Clock } from "../shared/clock.ts";
import type { Logger } from "../shared/log.ts";
import type { Report } from "../shared/protocol.ts";
import { destinationNames } from "./alerts/factory.ts";
import { LEGACY_OPERATOR, OperatorAuth, type OperatorToken } from "./auth.ts";
import { ActionError, type Coordinator } from "./coordinator.ts";
import { HttpError } from "./http-error.ts";
import { CoordinatorMetrics } from "./metrics.ts";
import { healthzRoute } from "./routes/healthz.ts";
import { mountMetaRoutes } from "./routes/meta.ts";
import { validationHook } from "./routes/openapi.ts";
import { mountOperatorRoutes } from "./routes/operator.ts";
import { mountProbeRoutes, type RefusalReason, refusalReasons } from "./routes/probes.ts";
import { mountUiRoutes } from "./routes/ui.ts";
import { LatencyHistory, RecentEvents } from "./ui/history.ts";

/** What the app is built from. */
export interface AppDeps {
  coordinator: Coordinator;
  clock: Clock;
  log: Logger;
  /** The operators' bearer tokens with their names and roles (see auth.ts `operatorTokens`). */
  operators?: readonly OperatorToken[];
  /** A single `operate` token named "operator" (what `coordinator.apiTokenEnv` gives), when `operators` is absent. */
  apiToken?: string;
  /** A configured probe's shared secret, or undefined for an unknown probe. */
  secretFor: (probeId: string) => string | undefined;
  /** Called after a report was accepted and folded (pushed ones and pulled ones that go through ingest). */
  onAccepted?: (probeId: string, report: Report) => void;
  onRefused?: (reason: RefusalReason) => void;
  /** The counters behind `GET /metrics`; pass one to share it (its `alerts` with the alert engine). */
  metrics?: CoordinatorMetrics;
}

/** The coordinator's HTTP app. */
export function buildApp(deps: AppDeps): OpenAPIHono {
  const app = new OpenAPIHono({ defaultHook: validationHook });
  const destinations = destinationNames(deps.coordinator.config.alerts);
  const metrics = deps.metrics ?? new CoordinatorMetrics({ refusalReasons, destinations });
  const { services, probes } = deps.coordinator.config;
  const history = new LatencyHistory({ expectedSeries: services.length * probes.members.length * 2 });
  const ui = { history, recent: new RecentEvents(), metrics };
  const legacy = deps.apiToken
    ? [{ name: LEGACY_OPERATOR, role: "operate" as const, token: deps.apiToken }]
    : [];
  const auth = new OperatorAuth(deps.operators ?? legacy);
  const probeDeps: AppDeps = {
    ...deps,
    onAccepted: (probeId, report) => {
      metrics.reportAccepted(probeId);
      recordLatencies(deps.coordinator, ui.history, report);
      deps.onAccepted?.(probeId, report);
    },
    onRefused: (reason) => {
      metrics.reportRefused(reason);
      deps.onRefused?.(reason);
    },
  };
  app.openapi(healthzRoute, (c) => c.json({ ok: true as const }, 200));
  mountProbeRoutes(app, probeDeps);
  mountOperatorRoutes(app, deps, auth);
  mountUiRoutes(app, deps, { ...ui, auth });
  mountMetaRoutes(app, deps, { metrics, auth });
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

/**
 * Copies what a report changed into the status page's latency history: the folded last result of
 * each endpoint the report named (unknown services have no track), not a walk over every service.
 */
function recordLatencies(coordinator: Coordinator, history: LatencyHistory, report: Report): void {
  const seen = new Set<string>();
  for (const { service, endpoint } of report.results) {
    const key = `${service}\u0000${endpoint}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const last = coordinator.track(report.probe, service, endpoint)?.last;
    if (last) history.record({ probe: report.probe, service, endpoint }, last);
  }
}
