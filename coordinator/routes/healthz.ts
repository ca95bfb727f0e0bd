/** `GET /healthz`: liveness, no auth. */
import { createRoute } from "@hono/zod-openapi";
import { healthzSchema } from "../../shared/api-schema.ts";
import { jsonContent } from "./openapi.ts";

/** The route definition of `GET /healthz`. */
export const healthzRoute = createRoute({
  method: "get",
  path: "/healthz",
  tags: ["meta"],
  summary: "Liveness",
  responses: { 200: jsonContent(healthzSchema, "The coordinator answers") },
});
