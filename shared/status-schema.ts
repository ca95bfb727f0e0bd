/**
 * Schemas of the filtered and paged status reads: `GET /v1/status?service=&unhealthy=&offset=&limit=`
 * and the status page's poll `GET /ui/state`. Without parameters `/v1/status` answers exactly the
 * CONTRACT §6 shape (api-schema.ts `statusSchema`); with any, it adds `page`.
 */
import { z } from "@hono/zod-openapi";
import { dashboardSchema, statusSchema } from "./api-schema.ts";

function integerText(name: string, min: number, max: number, description: string) {
  return z
    .string()
    .refine((value) => /^\d{1,9}$/.test(value) && Number(value) >= min && Number(value) <= max, {
      error: (issue) =>
        `Invalid "${name}" value "${String(issue.input)}": use an integer from ${min} to ${max}`,
    })
    .transform(Number)
    .openapi({ type: "integer", minimum: min, maximum: max, description });
}

/** The largest page any status read sends. */
export const MAX_STATUS_PAGE = 1000;

const unhealthyText = z
  .enum(["true", "false"])
  .transform((value) => value === "true")
  .openapi({
    type: "boolean",
    description:
      "Only services that need attention: not on the primary, not automatic, primary not UP, secondary DOWN, or DNS not in sync with the live target",
  });

export const statusQuerySchema = z.object({
  service: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .openapi({ description: "Only this service (404 if unknown)" }),
  unhealthy: unhealthyText.optional(),
  offset: integerText("offset", 0, 100_000_000, "Skip this many matching services").optional(),
  limit: integerText(
    "limit",
    1,
    MAX_STATUS_PAGE,
    `At most this many services (default ${MAX_STATUS_PAGE})`,
  ).optional(),
});
/** The parsed query of `GET /v1/status`. */
export type StatusQuery = z.infer<typeof statusQuerySchema>;

export const uiStateQuerySchema = z.object({
  service: z
    .string()
    .max(200)
    .optional()
    .openapi({ description: "Only services whose name contains this text (case-insensitive)" }),
  unhealthy: unhealthyText.optional(),
  offset: integerText("offset", 0, 100_000_000, "Skip this many matching services").optional(),
  limit: integerText("limit", 1, 200, "At most this many services (default 20)").optional(),
  since: integerText(
    "since",
    0,
    Number.MAX_SAFE_INTEGER,
    "The `cursor` of the previous answer: latency points recorded after it only",
  ).optional(),
});

export const pageInfoSchema = z
  .object({
    offset: z.number().int(),
    limit: z.number().int(),
    matched: z.number().int().openapi({ description: "Services matching the filters" }),
    total: z.number().int().openapi({ description: "Services configured" }),
  })
  .openapi("StatusPageInfo");
/** Where a page of services lies among the matching ones. */
export type PageInfo = z.infer<typeof pageInfoSchema>;

export const pagedStatusSchema = statusSchema
  .extend({
    page: pageInfoSchema.optional().openapi({ description: "Present when any parameter was given" }),
  })
  .openapi("PagedStatus");
/** The answer of `GET /v1/status`, with `page` when filtered or paged. */
export type PagedStatus = z.infer<typeof pagedStatusSchema>;

const countsOf = <K extends string>(keys: readonly [K, ...K[]]) =>
  z.object(Object.fromEntries(keys.map((k) => [k, z.number().int()])) as Record<K, z.ZodNumber>);

export const statusSummarySchema = z
  .object({
    services: z.number().int(),
    unhealthy: z.number().int(),
    active: countsOf(["primary", "secondary"]),
    mode: countsOf(["auto", "paused", "pinned"]),
    primary: countsOf(["up", "down", "unknown"]),
    probes: z.object({ total: z.number().int(), silent: z.number().int(), unhealthy: z.number().int() }),
  })
  .openapi("StatusSummary", { description: "Counts over every service and probe" });
/** Counts over every service and probe. */
export type StatusSummary = z.infer<typeof statusSummarySchema>;

export const pagedDashboardSchema = dashboardSchema
  .extend({
    summary: statusSummarySchema,
    page: pageInfoSchema,
    cursor: z
      .number()
      .int()
      .openapi({ description: "Send as `since` next time: only newer latency points come" }),
  })
  .openapi("PagedDashboard", {
    description:
      "The status page's poll: a summary, one page of services (needing attention first) and their latency points since the last poll",
  });
/** The answer of `GET /ui/state`. */
export type PagedDashboard = z.infer<typeof pagedDashboardSchema>;
