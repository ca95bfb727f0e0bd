/** Operator routes (CONTRACT §6): status, events, and the manual failover / pause / resume verbs. */
import type { Hono } from "hono";
import { actionBodySchema, failoverBodySchema } from "../../shared/api-schema.ts";
import { constantTimeEqual } from "../../shared/signing.ts";
import type { AppDeps } from "../app.ts";
import { HttpError } from "../http-error.ts";
import { buildStatus } from "../status.ts";

/** Checks `Authorization: Bearer <token>`; throws 401 otherwise. */
export function requireToken(header: string | undefined, token: string): void {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? "");
  if (!match?.[1])
    throw new HttpError(401, "unauthorized", "Missing bearer token: send Authorization: Bearer <token>");
  if (!constantTimeEqual(match[1].trim(), token))
    throw new HttpError(401, "unauthorized", "Invalid bearer token");
}

async function jsonBody(request: Request): Promise<unknown> {
  const text = await request.text();
  if (text.length > 64 * 1024) throw new HttpError(413, "too_large", "Request body is larger than 64 KiB");
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, "malformed_json", `Body is not valid JSON: ${(error as Error).message}`); // JSON.parse throws SyntaxError
  }
}

function parseBody<T>(
  schema: {
    safeParse(input: unknown): { success: true; data: T } | { success: false; error: { issues: unknown[] } };
  },
  input: unknown,
): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success)
    throw new HttpError(400, "invalid_body", "Body does not match the schema", parsed.error.issues);
  return parsed.data;
}

/** Mounts the `/v1` operator routes behind the bearer token. */
export function mountOperatorRoutes(app: Hono, deps: AppDeps): void {
  app.use("/v1/status", async (c, next) => {
    requireToken(c.req.header("authorization"), deps.apiToken);
    await next();
  });
  app.use("/v1/events", async (c, next) => {
    requireToken(c.req.header("authorization"), deps.apiToken);
    await next();
  });
  app.use("/v1/services/*", async (c, next) => {
    requireToken(c.req.header("authorization"), deps.apiToken);
    await next();
  });

  app.get("/v1/status", (c) => c.json(buildStatus(deps.coordinator, deps.clock.now())));

  app.get("/v1/events", async (c) => {
    const since = c.req.query("since");
    const sinceMs = since === undefined ? undefined : Date.parse(since);
    if (sinceMs !== undefined && Number.isNaN(sinceMs)) {
      throw new HttpError(400, "invalid_query", `Invalid "since" value "${since}": use an ISO 8601 time`);
    }
    const limitText = c.req.query("limit");
    const limit = limitText === undefined ? 1000 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
      throw new HttpError(400, "invalid_query", `Invalid "limit" value "${limitText}": use 1 to 10000`);
    }
    const events = await deps.coordinator.events({ ...(sinceMs !== undefined ? { sinceMs } : {}), limit });
    return c.json({ events });
  });

  const serviceStatus = (name: string) => {
    const status = buildStatus(deps.coordinator, deps.clock.now());
    return status.services.find((s) => s.name === name);
  };

  app.post("/v1/services/:name/failover", async (c) => {
    const body = parseBody(failoverBodySchema, await jsonBody(c.req.raw));
    const name = c.req.param("name");
    await deps.coordinator.failover(name, body.to, {
      actor: body.actor ?? "api",
      ...(body.reason ? { reason: body.reason } : {}),
    });
    return c.json(serviceStatus(name));
  });

  for (const verb of ["pause", "resume"] as const) {
    app.post(`/v1/services/:name/${verb}`, async (c) => {
      const body = parseBody(actionBodySchema, await jsonBody(c.req.raw));
      const name = c.req.param("name");
      const options = { actor: body.actor ?? "api", ...(body.reason ? { reason: body.reason } : {}) };
      await deps.coordinator[verb](name, options);
      return c.json(serviceStatus(name));
    });
  }
}
