/** Operator routes (CONTRACT §6): status, events, and the manual failover / pause / resume verbs. */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import {
  actionBodySchema,
  eventsQuerySchema,
  eventsSchema,
  failoverBodySchema,
  serviceParamsSchema,
  serviceStatusSchema,
} from "../../shared/api-schema.ts";
import { MAX_STATUS_PAGE, pagedStatusSchema, statusQuerySchema } from "../../shared/status-schema.ts";
import type { AppDeps } from "../app.ts";
import type { OperatorAuth } from "../auth.ts";
import { HttpError } from "../http-error.ts";
import { buildStatus, readStatus } from "../status.ts";
import { bearerAuth, errorResponses, jsonBody, jsonContent } from "./openapi.ts";

declare module "hono" {
  interface ContextVariableMap {
    /** The name of the operator whose token authorised this request (the audit log's actor). */
    operator: string;
  }
}

/** Largest operator request body. */
const MAX_ACTION_BYTES = 64 * 1024;

const statusRoute = createRoute({
  method: "get",
  path: "/v1/status",
  tags: ["operator"],
  summary: "State of every service, probe and DNS provider",
  description:
    "Without parameters: every service (CONTRACT §6). With `service`, `unhealthy`, `offset` or `limit`: the " +
    `matching services, at most \`limit\` (default ${MAX_STATUS_PAGE}) from \`offset\`, and \`page\` saying where they lie.`,
  security: bearerAuth,
  request: { query: statusQuerySchema },
  responses: { 200: jsonContent(pagedStatusSchema, "The current status"), ...errorResponses(400, 401, 404) },
});

const eventsRoute = createRoute({
  method: "get",
  path: "/v1/events",
  tags: ["operator"],
  summary: "The audit log, oldest first",
  description:
    "Every decision, operator action and DNS outcome, with the vote tally that led to it. With `since` " +
    "or `after`: the events from there on, oldest first, `limit` at a time (`more` says whether to ask " +
    "again with `after` = the last id). Without them: the newest `limit` events, oldest first.",
  security: bearerAuth,
  request: { query: eventsQuerySchema },
  responses: { 200: jsonContent(eventsSchema, "Events, oldest first"), ...errorResponses(400, 401) },
});

const actionResponses = {
  200: jsonContent(serviceStatusSchema, "The service's status after the action"),
  ...errorResponses(400, 401, 404, 409, 413),
};

const failoverRoute = createRoute({
  method: "post",
  path: "/v1/services/{name}/failover",
  tags: ["operator"],
  summary: "Pin a service to a path (manual switch)",
  description: "The service stays pinned (no automatic decision) until `resume`.",
  security: bearerAuth,
  middleware: jsonBody(MAX_ACTION_BYTES),
  request: {
    params: serviceParamsSchema,
    body: { required: true, content: { "application/json": { schema: failoverBodySchema } } },
  },
  responses: actionResponses,
});

function verbRoute(verb: "pause" | "resume") {
  return createRoute({
    method: "post",
    path: `/v1/services/{name}/${verb}`,
    tags: ["operator"],
    summary:
      verb === "pause"
        ? "Pause automatic decisions for a service (maintenance)"
        : "Return a paused or pinned service to automatic decisions",
    security: bearerAuth,
    middleware: jsonBody(MAX_ACTION_BYTES),
    request: {
      params: serviceParamsSchema,
      body: { required: false, content: { "application/json": { schema: actionBodySchema } } },
    },
    responses: actionResponses,
  });
}

/**
 * Mounts the `/v1` operator routes behind the operators' tokens: reads need any token, the verbs an
 * `operate` one; the audit log's actor is the token's name.
 */
export function mountOperatorRoutes(app: OpenAPIHono, deps: AppDeps, auth: OperatorAuth): void {
  for (const path of ["/v1/status", "/v1/events"]) {
    app.use(path, async (c, next) => {
      auth.authenticate(c.req.header("authorization"));
      await next();
    });
  }
  app.use("/v1/services/*", async (c, next) => {
    const verb = c.req.path.split("/").at(-1) ?? "this action";
    c.set("operator", auth.require(c.req.header("authorization"), "operate", verb).name);
    await next();
  });

  app.openapi(statusRoute, (c) => {
    const query = c.req.valid("query");
    const now = deps.clock.now();
    if (Object.values(query).every((value) => value === undefined))
      return c.json(buildStatus(deps.coordinator, now), 200);
    if (query.service !== undefined) deps.coordinator.service(query.service); // 404 for an unknown name
    const read = readStatus(deps.coordinator, now, {
      ...(query.service !== undefined ? { service: query.service } : {}),
      ...(query.unhealthy !== undefined ? { unhealthy: query.unhealthy } : {}),
      ...(query.offset !== undefined ? { offset: query.offset } : {}),
      limit: query.limit ?? MAX_STATUS_PAGE,
    });
    return c.json({ ...read.view, page: read.page }, 200);
  });

  app.openapi(eventsRoute, async (c) => {
    const query = c.req.valid("query");
    const sinceMs = query.since === undefined ? undefined : Date.parse(query.since);
    const page = await deps.coordinator.eventPage({
      ...(sinceMs !== undefined ? { sinceMs } : {}),
      ...(query.after !== undefined ? { afterId: query.after } : {}),
      limit: query.limit ?? 1000,
    });
    return c.json(page, 200);
  });

  const serviceStatus = (name: string) => {
    const status = readStatus(deps.coordinator, deps.clock.now(), { service: name }).view;
    const service = status.services[0];
    if (!service) throw new HttpError(404, "not_found", `Unknown service "${name}"`);
    return service;
  };

  app.openapi(failoverRoute, async (c) => {
    const body = c.req.valid("json");
    const { name } = c.req.valid("param");
    await deps.coordinator.failover(name, body.to, {
      actor: c.get("operator"),
      ...(body.reason ? { reason: body.reason } : {}),
    });
    return c.json(serviceStatus(name), 200);
  });

  for (const verb of ["pause", "resume"] as const) {
    app.openapi(verbRoute(verb), async (c) => {
      const body = c.req.valid("json");
      const { name } = c.req.valid("param");
      const options = { actor: c.get("operator"), ...(body.reason ? { reason: body.reason } : {}) };
      await deps.coordinator[verb](name, options);
      return c.json(serviceStatus(name), 200);
    });
  }
}
