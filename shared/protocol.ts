/**
 * Wire contract between probes and the coordinator (CONTRACT §5): reports, assignments and pull requests.
 * Written with `zod/mini` so an edge probe that imports it stays small (about 20 KB instead of 450 KB).
 */
import * as z from "zod/mini";

/** Largest accepted request body, in bytes; larger bodies are refused with 413 before any hashing. */
export const MAX_BODY_BYTES = 256 * 1024;

/** Schema of an endpoint name (zod/mini: OpenAPI documents need their own classic copy, see api-schema.ts). */
export const endpointSchema = z.enum(["primary", "secondary"]);
/** Which of a service's two paths a check or vote is about. */
export type Endpoint = z.infer<typeof endpointSchema>;

const isoTime = z.iso.datetime({ offset: true });
const text = (min: number, max: number) => z.string().check(z.minLength(min), z.maxLength(max));
const int = () => z.number().check(z.int());

/**
 * Why a probe could not run a check, by its own limits: a Workers subrequest cap, its own resources
 * (file descriptors, memory), or its own network (its canaries failed too). Never a vote on the endpoint.
 */
export const skippedSchema = z.enum(["subrequest-cap", "resources", "network"]);
/** Why a check was not run; see `skippedSchema`. */
export type Skipped = z.infer<typeof skippedSchema>;

/** Schema of one check result. */
export const checkResultSchema = z.strictObject({
  service: text(1, 128),
  endpoint: endpointSchema,
  ok: z.boolean(),
  status: z.optional(int().check(z.minimum(0), z.maximum(999))),
  latencyMs: z.optional(z.number().check(z.minimum(0), z.maximum(3_600_000))),
  error: z.optional(z.string().check(z.maxLength(1024))),
  checkedAt: isoTime,
  /** Set when the probe could not check (its `ok` is false): changes no streak (CONTRACT §4). */
  skipped: z.optional(skippedSchema),
});
/** The outcome of one HTTP check by one probe. */
export type CheckResult = z.infer<typeof checkResultSchema>;

/** Schema of a report. */
export const reportSchema = z.strictObject({
  id: text(1, 128),
  probe: text(1, 128),
  sentAt: isoTime,
  healthy: z.boolean(),
  results: z.array(checkResultSchema).check(z.maxLength(10_000)),
});
/** A signed probe report: what one probe saw in one round. */
export type Report = z.infer<typeof reportSchema>;

/** Schema of one assigned check. */
export const httpCheckSchema = z.strictObject({
  service: z.string(),
  endpoint: endpointSchema,
  url: z.string(),
  expectStatus: z.array(int()),
  bodyContains: z.optional(z.string()),
  timeoutMs: int().check(z.positive()),
  degradedAfterMs: z.optional(int().check(z.positive())),
  /** The service's `failAfter`: how many failures in a row a fast confirmation aims for. */
  failAfter: z.optional(int().check(z.positive())),
});
/** One check a probe runs each round. */
export type HttpCheck = z.infer<typeof httpCheckSchema>;

/** Schema of a probe's assignments. */
export const assignmentsSchema = z.strictObject({
  probe: z.string(),
  intervalMs: int().check(z.positive()),
  checks: z.array(httpCheckSchema),
  canaries: z.array(z.string()),
  /**
   * Fast confirmation (sent only to probes that ask with `FEATURES_HEADER`, since older probes refuse
   * unknown keys): re-check a failed endpoint this long after its check ended; 0 turns it off.
   */
  confirmIntervalMs: z.optional(int().check(z.minimum(0))),
  /** The most endpoints a probe confirms at once. */
  maxConfirming: z.optional(int().check(z.positive())),
});
/** What a probe must check, as served by `GET /v1/probes/{id}/assignments`. */
export type Assignments = z.infer<typeof assignmentsSchema>;

/**
 * A request header naming the protocol additions its sender understands (comma-separated), so each
 * side sends new fields only to a peer that parses them: `confirm` (assignments' confirmation keys)
 * and `skipped` (not-checked results).
 */
export const FEATURES_HEADER = "x-healthmesh-features";

/** Schema of a pull request's body. */
export const runRequestSchema = z.extend(assignmentsSchema, { id: text(1, 128) });
/** The coordinator's signed "run now" request to a pull-mode probe (`POST {url}/v1/run`): stateless for the probe. */
export type RunRequest = z.infer<typeof runRequestSchema>;

/** The JSON error body of every refusal (CONTRACT §6). */
export interface ErrorBody {
  error: { code: string; message: string; issues?: unknown[] };
}
