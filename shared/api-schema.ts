/** Schemas of the coordinator's operator API (CONTRACT §6), shared by the routes, the CLI and tests. */
import { z } from "zod";
import { endpointSchema } from "./protocol.ts";

export const tallySchema = z.object({
  up: z.number().int(),
  down: z.number().int(),
  abstain: z.number().int(),
});
export const verdictSchema = z.enum(["up", "down", "unknown"]);
export const dnsStateSchema = z.object({
  state: z.enum(["in-sync", "pending", "error"]),
  target: z.string().nullable(),
  error: z.string().optional(),
  updatedAt: z.string().optional(),
});

export const probeResultSchema = z.object({
  probe: z.string(),
  endpoint: endpointSchema,
  vote: z.enum(["up", "down", "abstain"]),
  ok: z.boolean().nullable(),
  status: z.number().int().optional(),
  latencyMs: z.number().optional(),
  error: z.string().optional(),
  checkedAt: z.string().optional(),
});

export const serviceStatusSchema = z.object({
  name: z.string(),
  router: z.string(),
  target: z.string(),
  active: endpointSchema,
  mode: z.enum(["auto", "paused", "pinned"]),
  lastSwitchAt: z.string().nullable(),
  primary: z.object({ verdict: verdictSchema, votes: tallySchema, target: z.string() }),
  secondary: z.object({ verdict: verdictSchema, votes: tallySchema, target: z.string() }),
  dns: z.record(z.string(), dnsStateSchema),
  results: z.array(probeResultSchema),
});

export const probeStatusSchema = z.object({
  id: z.string(),
  provider: z.string(),
  region: z.string(),
  mode: z.enum(["push", "pull"]),
  lastSeen: z.string().nullable(),
  healthy: z.boolean(),
  silent: z.boolean(),
});

export const statusSchema = z.object({
  zone: z.string(),
  now: z.string(),
  services: z.array(serviceStatusSchema),
  probes: z.array(probeStatusSchema),
});
/** The answer of `GET /v1/status`. */
export type StatusView = z.infer<typeof statusSchema>;
/** One service in `GET /v1/status`. */
export type ServiceStatus = z.infer<typeof serviceStatusSchema>;

export const eventSchema = z.object({
  id: z.number().int(),
  at: z.string(),
  type: z.string(),
  service: z.string().optional(),
  from: z.optional(endpointSchema),
  to: z.optional(endpointSchema),
  provider: z.string().optional(),
  votes: z.object({ primary: tallySchema, secondary: tallySchema }).optional(),
  actor: z.string().optional(),
  message: z.string(),
});
export const eventsSchema = z.object({ events: z.array(eventSchema) });

export const failoverBodySchema = z.strictObject({
  to: endpointSchema,
  reason: z.string().max(500).optional(),
  actor: z.string().min(1).max(100).optional(),
});
/** The body of `POST /v1/services/{name}/failover`. */
export type FailoverBody = z.infer<typeof failoverBodySchema>;

export const actionBodySchema = z.strictObject({
  reason: z.string().max(500).optional(),
  actor: z.string().min(1).max(100).optional(),
});

export const errorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), issues: z.array(z.unknown()).optional() }),
});
