/**
 * Schemas of the coordinator's HTTP API (CONTRACT §6), shared by the routes (which validate with them
 * and document them in OpenAPI), the CLI and the tests. `z` comes from `@hono/zod-openapi` so that
 * `.openapi()` names components; it is plain zod otherwise.
 */
import { z } from "@hono/zod-openapi";

/** A service's two paths; the same values as the probe protocol's `endpointSchema`, in full zod for OpenAPI. */
export const endpointSchema = z.enum(["primary", "secondary"]).openapi("Path");

export const tallySchema = z
  .object({ up: z.number().int(), down: z.number().int(), abstain: z.number().int() })
  .openapi("Tally", { description: "How many configured probes vote each way" });
export const verdictSchema = z
  .enum(["up", "down", "unknown"])
  .openapi("Verdict", { description: "The quorum's verdict on one endpoint" });
export const servingSchema = z
  .object({
    values: z.array(z.string()).nullable().openapi({
      description: "What the provider's nameservers serve; null when none answered or they disagree",
    }),
    matches: z.boolean().openapi({ description: "Every answering nameserver serves the decided target" }),
    lagging: z.boolean().openapi({
      description: "The API accepted the write but a nameserver still serves the old answer past the bound",
    }),
    checkedAt: z.string(),
    nameservers: z.array(
      z.object({
        server: z.string(),
        values: z.array(z.string()).optional(),
        rcode: z.string().optional(),
        error: z.string().optional(),
      }),
    ),
  })
  .openapi("NameserverServing", {
    description: "What the provider's own nameservers answer (DNS, not the API)",
  });
export const dnsStateSchema = z
  .object({
    state: z.enum(["in-sync", "pending", "error"]),
    target: z.string().nullable().openapi({ description: "What the provider was last seen serving" }),
    error: z.string().optional(),
    updatedAt: z.string().optional().openapi({ description: "When this state was last recorded (ISO)" }),
    serving: servingSchema.optional(),
  })
  .openapi("DnsProviderState");

export const nameserverStatusSchema = z
  .object({
    checking: z
      .boolean()
      .openapi({ description: "Whether this coordinator asks the providers' nameservers" }),
    reason: z.string().optional(),
    providers: z.record(
      z.string(),
      z.object({
        servers: z.array(z.string()),
        queries: z.number().int(),
        queryErrors: z.number().int(),
        error: z.string().optional(),
      }),
    ),
  })
  .openapi("NameserverStatus");

export const probeResultSchema = z
  .object({
    probe: z.string(),
    endpoint: endpointSchema,
    vote: z.enum(["up", "down", "abstain"]),
    ok: z.boolean().nullable().openapi({ description: "The last check's outcome; null when none arrived" }),
    status: z.number().int().optional(),
    latencyMs: z.number().optional(),
    error: z.string().optional(),
    checkedAt: z.string().optional(),
  })
  .openapi("ProbeResult", { description: "One probe's last result and standing vote on one endpoint" });

const endpointStatusSchema = z.object({ verdict: verdictSchema, votes: tallySchema, target: z.string() });

export const serviceStatusSchema = z
  .object({
    name: z.string(),
    router: z.string(),
    target: z.string(),
    active: endpointSchema,
    mode: z.enum(["auto", "paused", "pinned"]),
    lastSwitchAt: z.string().nullable(),
    primary: endpointStatusSchema,
    secondary: endpointStatusSchema,
    dns: z.record(z.string(), dnsStateSchema),
    results: z.array(probeResultSchema),
  })
  .openapi("ServiceStatus");

export const probeStatusSchema = z
  .object({
    id: z.string(),
    provider: z.string(),
    region: z.string(),
    mode: z.enum(["push", "pull"]),
    lastSeen: z.string().nullable(),
    healthy: z.boolean(),
    silent: z.boolean().openapi({ description: "No report for 3 intervals: the probe abstains" }),
    notChecked: z.number().int().openapi({
      description:
        "Results of its latest report it could not check (subrequest cap, its own resources or network): no vote either way",
    }),
  })
  .openapi("ProbeStatus");

export const clusterStatusSchema = z
  .object({
    self: z.string().openapi({ description: "Id of the coordinator that answered" }),
    leader: z
      .string()
      .nullable()
      .openapi({ description: "Id of the coordinator that leads, null while nobody does" }),
    frozen: z
      .boolean()
      .openapi({ description: "No etcd quorum: nobody switches, DNS keeps the last decision" }),
    members: z.array(
      z.object({ id: z.string(), url: z.string(), lastSeen: z.string().nullable(), leader: z.boolean() }),
    ),
  })
  .openapi("ClusterStatus");
/** The `cluster` part of `GET /v1/status` in HA mode (CONTRACT §8). */
export type ClusterStatus = z.infer<typeof clusterStatusSchema>;

export const statusSchema = z
  .object({
    zone: z.string(),
    now: z.string(),
    services: z.array(serviceStatusSchema),
    probes: z.array(probeStatusSchema),
    nameservers: nameserverStatusSchema.optional(),
    cluster: clusterStatusSchema
      .optional()
      .openapi({ description: "Present when coordinator.ha is configured" }),
  })
  .openapi("Status");
/** The answer of `GET /v1/status`. */
export type StatusView = z.infer<typeof statusSchema>;
/** One service in `GET /v1/status`. */
export type ServiceStatus = z.infer<typeof serviceStatusSchema>;

export const eventSchema = z
  .object({
    id: z.number().int(),
    at: z.string(),
    type: z.string().openapi({ example: "failover" }),
    service: z.string().optional(),
    from: endpointSchema.optional(),
    to: endpointSchema.optional(),
    provider: z.string().optional(),
    votes: z.object({ primary: tallySchema, secondary: tallySchema }).optional(),
    actor: z.string().optional(),
    message: z.string(),
    decision: z.number().int().optional().openapi({
      description: "HA mode: the decision number in etcd this event records (the same on every member)",
    }),
  })
  .openapi("Event");
/** One audit-log entry. */
export type EventView = z.infer<typeof eventSchema>;
export const eventsSchema = z
  .object({
    events: z.array(eventSchema),
    more: z.boolean().openapi({ description: "More events follow the page: ask again with after=<last id>" }),
  })
  .openapi("Events");

const sinceText = z
  .string()
  .refine((value) => !Number.isNaN(Date.parse(value)), {
    error: (issue) => `Invalid "since" value "${String(issue.input)}": use an ISO 8601 time`,
  })
  .openapi({ description: "Only events at or after this time (ISO 8601)", example: "2026-01-01T00:00:00Z" });
const limitText = z
  .string()
  .refine((value) => /^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= 10_000, {
    error: (issue) => `Invalid "limit" value "${String(issue.input)}": use 1 to 10000`,
  })
  .transform(Number)
  .openapi({ type: "integer", minimum: 1, maximum: 10_000, default: 1000 });
const afterText = z
  .string()
  .refine((value) => /^\d{1,15}$/.test(value), {
    error: (issue) => `Invalid "after" value "${String(issue.input)}": use an event id`,
  })
  .transform(Number)
  .openapi({ type: "integer", minimum: 0, description: "Only events with a larger id (paging)" });
export const eventsQuerySchema = z.object({
  since: sinceText.optional(),
  after: afterText.optional(),
  limit: limitText.optional(),
});

export const serviceParamsSchema = z.object({
  name: z
    .string()
    .min(1)
    .openapi({ param: { name: "name", in: "path" }, example: "web" }),
});

export const failoverBodySchema = z
  .strictObject({
    to: endpointSchema,
    reason: z.string().max(500).optional(),
    actor: z
      .string()
      .min(1)
      .max(100)
      .optional()
      .describe("Ignored (accepted from older clients): the audit log's actor is the token's operator name"),
  })
  .openapi("FailoverBody");
/** The body of `POST /v1/services/{name}/failover`. */
export type FailoverBody = z.infer<typeof failoverBodySchema>;

export const actionBodySchema = z
  .strictObject({
    reason: z.string().max(500).optional(),
    actor: z
      .string()
      .min(1)
      .max(100)
      .optional()
      .describe("Ignored (accepted from older clients): the audit log's actor is the token's operator name"),
  })
  .openapi("ActionBody");

export const errorSchema = z
  .object({
    error: z.object({ code: z.string(), message: z.string(), issues: z.array(z.unknown()).optional() }),
  })
  .openapi("Error", { description: "Every refusal: a machine code, a human message, schema issues if any" });

export const healthzSchema = z.object({ ok: z.literal(true) }).openapi("Healthz");
export const reportAcceptedSchema = z
  .object({ accepted: z.literal(true), id: z.string() })
  .openapi("ReportAccepted");

export const latencySeriesSchema = z
  .object({
    probe: z.string(),
    service: z.string(),
    endpoint: endpointSchema,
    points: z.array(z.object({ at: z.string(), ok: z.boolean(), latencyMs: z.number().nullable() })),
  })
  .openapi("LatencySeries", { description: "Recent check latencies of one probe on one endpoint" });
/** Recent latencies of one probe on one endpoint. */
export type LatencySeries = z.infer<typeof latencySeriesSchema>;

export const alertDestinationSchema = z
  .object({
    name: z.string(),
    type: z.string(),
    delivered: z.number().int().openapi({ description: "Messages delivered since the coordinator started" }),
    failed: z
      .number()
      .int()
      .openapi({ description: "Failed delivery attempts since the coordinator started" }),
  })
  .openapi("AlertDestination");

export const dashboardSchema = z
  .object({
    status: statusSchema,
    events: z.array(eventSchema).openapi({ description: "The most recent events, newest last" }),
    latency: z.array(latencySeriesSchema),
    alerts: z.array(alertDestinationSchema),
    intervalMs: z.number().int(),
    public: z
      .boolean()
      .openapi({ description: "Whether the status page is public (coordinator.publicStatusPage)" }),
  })
  .openapi("Dashboard", { description: "Everything the status page at / shows, in one answer" });
/** The answer of `GET /ui/state`. */
export type Dashboard = z.infer<typeof dashboardSchema>;
