/**
 * The status page (`GET /`) and its data (`GET /ui/state`). The page itself holds no state; the data
 * needs the operator token unless `coordinator.publicStatusPage` is true.
 */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { pagedDashboardSchema, uiStateQuerySchema } from "../../shared/status-schema.ts";
import { destinationNames } from "../alerts/factory.ts";
import type { AppDeps } from "../app.ts";
import type { OperatorAuth } from "../auth.ts";
import type { CoordinatorMetrics } from "../metrics.ts";
import { readStatus } from "../status.ts";
import type { LatencyHistory, RecentEvents } from "../ui/history.ts";
import { pageCsp, statusPageHtml } from "../ui/page.ts";
import { bearerAuth, errorResponses, jsonContent } from "./openapi.ts";

/** The status page's in-memory histories. */
export interface UiState {
  history: LatencyHistory;
  recent: RecentEvents;
  metrics: CoordinatorMetrics;
  auth: OperatorAuth;
}

/** Whether read-only views (status page data, metrics) are public by config. */
export function isPublicView(deps: AppDeps): boolean {
  return deps.coordinator.config.coordinator.publicStatusPage;
}

/** Refuses a read-only view without an operator's token (any role), unless the config makes such views public. */
export function requireViewer(deps: AppDeps, auth: OperatorAuth, header: string | undefined): void {
  if (!isPublicView(deps)) auth.authenticate(header);
}

/** Services per page of the status page unless it asks for another `limit`. */
const DEFAULT_PAGE = 20;

const stateRoute = createRoute({
  method: "get",
  path: "/ui/state",
  tags: ["status page"],
  summary: "What the status page shows, one bounded page at a time",
  description:
    "A summary over every service, one page of services (those needing attention first; `service` " +
    "filters by name, `unhealthy=true` keeps only those needing attention, `offset`/`limit` page, 20 by " +
    "default), the newest events, and the latency points of the page's services recorded after `since` " +
    "(the previous answer's `cursor`). Needs any operator token (a `read` one will do) unless " +
    "`coordinator.publicStatusPage` is true.",
  security: [...bearerAuth, {}],
  request: { query: uiStateQuerySchema },
  responses: {
    200: jsonContent(pagedDashboardSchema, "The status page's data"),
    ...errorResponses(400, 401),
  },
});

/** Mounts `GET /` and `GET /ui/state`. */
export function mountUiRoutes(app: OpenAPIHono, deps: AppDeps, ui: UiState): void {
  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/",
    tags: ["status page"],
    summary: "The live status page (HTML)",
    description: "Served to anyone; it asks for the token when its data needs one (see /ui/state).",
    responses: { 200: { description: "The page", content: { "text/html": { schema: { type: "string" } } } } },
  });
  app.get("/", (c) => {
    c.header("content-security-policy", pageCsp(memberOrigins(deps)));
    c.header("cache-control", "no-store");
    c.header("referrer-policy", "no-referrer");
    return c.html(statusPageHtml());
  });

  // In a cluster the page reads another member when its own stops answering, so any origin may
  // read: the page's origin is often a member that is gone from the member list (that is why it
  // moved), and the data needs a bearer token that a foreign page does not have (no cookies).
  app.use("/ui/state", async (c, next) => {
    if (deps.coordinator.clusterStatus() && c.req.header("origin")) {
      c.header("access-control-allow-origin", "*");
      if (c.req.method === "OPTIONS") {
        c.header("access-control-allow-headers", "authorization");
        c.header("access-control-allow-methods", "GET");
        c.header("access-control-max-age", "600");
        return c.body(null, 204);
      }
    }
    requireViewer(deps, ui.auth, c.req.header("authorization"));
    return next();
  });
  app.openapi(stateRoute, async (c) => {
    const query = c.req.valid("query");
    const now = deps.clock.now();
    const events = await ui.recent.refresh(deps.coordinator, now);
    const cursor = ui.history.cursor;
    const read = readStatus(deps.coordinator, now, {
      ...(query.service ? { nameContains: query.service } : {}),
      ...(query.unhealthy !== undefined ? { unhealthy: query.unhealthy } : {}),
      ...(query.offset !== undefined ? { offset: query.offset } : {}),
      limit: query.limit ?? DEFAULT_PAGE,
      attentionFirst: true,
    });
    const shown = read.view.services.map((s) => s.name);
    c.header("cache-control", "no-store");
    return c.json(
      {
        status: read.view,
        summary: read.summary,
        page: read.page,
        cursor,
        events,
        latency: ui.history.series({ services: shown, after: query.since ?? 0 }),
        alerts: alertState(deps, ui.metrics),
        intervalMs: deps.coordinator.config.probes.interval,
        public: isPublicView(deps),
      },
      200,
    );
  });
}

/** The origins of this cluster's members (none for a lone coordinator). */
function memberOrigins(deps: AppDeps): string[] {
  const members = deps.coordinator.clusterStatus()?.members ?? [];
  return members.flatMap((m) => {
    try {
      return [new URL(m.url).origin];
    } catch {
      return [];
    }
  });
}

function alertState(deps: AppDeps, metrics: CoordinatorMetrics) {
  const alerts = deps.coordinator.config.alerts;
  return destinationNames(alerts).map((name, i) => ({
    name,
    type: alerts[i]?.type ?? "unknown",
    ...metrics.alertCounts(name),
  }));
}
