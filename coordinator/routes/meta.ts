/** Routes about the API itself: `GET /openapi.json`, `GET /docs` and `GET /metrics`. */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppDeps } from "../app.ts";
import type { OperatorAuth } from "../auth.ts";
import type { CoordinatorMetrics } from "../metrics.ts";
import { buildStatus } from "../status.ts";
import { docsPageHtml } from "../ui/docs-page.ts";
import { PAGE_CSP } from "../ui/page.ts";
import { errorResponses } from "./openapi.ts";

/** The `info` block of the OpenAPI document. */
export const API_INFO = {
  title: "healthmesh coordinator",
  version: "1",
  description:
    "Probes push signed reports; operators read status and events and pin, pause or resume services. " +
    "Errors are always `{error:{code,message,issues?}}`.",
};

/** Mounts the document, its viewer and the metrics; call after every other route is defined. */
export function mountMetaRoutes(
  app: OpenAPIHono,
  deps: AppDeps,
  { metrics, auth }: { metrics: CoordinatorMetrics; auth: OperatorAuth },
): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    description:
      "An operator's token (coordinator.operators[].tokenEnv, or coordinator.apiTokenEnv): any role reads, `operate` also acts",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "probeSignature", {
    type: "apiKey",
    in: "header",
    name: "x-healthmesh-signature",
    description:
      'With x-healthmesh-probe and x-healthmesh-timestamp: v1=HEX(HMAC-SHA256(probe secret, TIMESTAMP + "." + RAW_BODY))',
  });
  const text = (type: string, description: string) => ({
    description,
    content: { [type]: { schema: { type: "string" as const } } },
  });
  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/openapi.json",
    tags: ["meta"],
    summary: "This OpenAPI 3.1 document",
    responses: {
      200: { description: "The document", content: { "application/json": { schema: { type: "object" } } } },
    },
  });
  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/docs",
    tags: ["meta"],
    summary: "A page that renders this document",
    responses: { 200: text("text/html", "The page") },
  });
  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/metrics",
    tags: ["meta"],
    summary: "Prometheus metrics (text format 0.0.4)",
    description:
      "Open by default, like most Prometheus endpoints; needs the bearer token when `coordinator.protectMetrics` is true.",
    security: [{ bearerAuth: [] }, {}],
    responses: { 200: text("text/plain", "The exposition"), ...errorResponses(401) },
  });

  app.get("/openapi.json", (c) => c.json(app.getOpenAPI31Document({ openapi: "3.1.0", info: API_INFO })));
  app.get("/docs", (c) => {
    c.header("content-security-policy", PAGE_CSP);
    return c.html(docsPageHtml());
  });
  app.get("/metrics", async (c) => {
    if (deps.coordinator.config.coordinator.protectMetrics) auth.authenticate(c.req.header("authorization"));
    await metrics.catchUp(deps.coordinator);
    const chunks = metrics.renderChunks(buildStatus(deps.coordinator, deps.clock.now()), {
      startedAt: deps.coordinator.startedAt,
    });
    // Encoded a chunk at a time as the client reads: a large mesh's scrape is never one giant buffer.
    const encoder = new TextEncoder();
    let next = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const chunk = chunks[next];
        chunks[next++] = "";
        if (chunk === undefined) controller.close();
        else controller.enqueue(encoder.encode(chunk));
      },
    });
    return c.body(body, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });
}
