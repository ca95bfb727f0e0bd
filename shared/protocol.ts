/** Wire contract between probes and the coordinator (CONTRACT §5): reports, assignments and pull requests. */
import { z } from "zod";

/** Largest accepted request body, in bytes; larger bodies are refused with 413 before any hashing. */
export const MAX_BODY_BYTES = 256 * 1024;

export const endpointSchema = z.enum(["primary", "secondary"]);
/** Which of a service's two paths a check or vote is about. */
export type Endpoint = z.infer<typeof endpointSchema>;

const isoTime = z.iso.datetime({ offset: true });

export const checkResultSchema = z.strictObject({
  service: z.string().min(1).max(128),
  endpoint: endpointSchema,
  ok: z.boolean(),
  status: z.number().int().min(0).max(999).optional(),
  latencyMs: z.number().min(0).max(3_600_000).optional(),
  error: z.string().max(1024).optional(),
  checkedAt: isoTime,
});
/** The outcome of one HTTP check by one probe. */
export type CheckResult = z.infer<typeof checkResultSchema>;

export const reportSchema = z.strictObject({
  id: z.string().min(1).max(128),
  probe: z.string().min(1).max(128),
  sentAt: isoTime,
  healthy: z.boolean(),
  results: z.array(checkResultSchema).max(10_000),
});
/** A signed probe report: what one probe saw in one round. */
export type Report = z.infer<typeof reportSchema>;

export const httpCheckSchema = z.strictObject({
  service: z.string(),
  endpoint: endpointSchema,
  url: z.string(),
  expectStatus: z.array(z.number().int()),
  bodyContains: z.string().optional(),
  timeoutMs: z.number().int().positive(),
  degradedAfterMs: z.number().int().positive().optional(),
});
/** One check a probe runs each round. */
export type HttpCheck = z.infer<typeof httpCheckSchema>;

export const assignmentsSchema = z.strictObject({
  probe: z.string(),
  intervalMs: z.number().int().positive(),
  checks: z.array(httpCheckSchema),
  canaries: z.array(z.string()),
});
/** What a probe must check, as served by `GET /v1/probes/{id}/assignments`. */
export type Assignments = z.infer<typeof assignmentsSchema>;

export const runRequestSchema = assignmentsSchema.extend({ id: z.string().min(1).max(128) });
/** The coordinator's signed "run now" request to a pull-mode probe (`POST {url}/v1/run`). */
export type RunRequest = z.infer<typeof runRequestSchema>;

/** The JSON error body of every refusal (CONTRACT §6). */
export interface ErrorBody {
  error: { code: string; message: string; issues?: unknown[] };
}
