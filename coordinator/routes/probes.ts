/** Probe-facing routes (CONTRACT §5): signed report ingest and assignments. */
import type { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { toJSONSchema } from "zod";
import { reportAcceptedSchema } from "../../shared/api-schema.ts";
import { assignmentsSchema, FEATURES_HEADER, MAX_BODY_BYTES, reportSchema } from "../../shared/protocol.ts";
import { PROBE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from "../../shared/signing.ts";
import type { AppDeps } from "../app.ts";
import { withConfirmation } from "../confirm.ts";
import { IngestBusyError } from "../group-commit.ts";
import { HttpError } from "../http-error.ts";
import { ReplayError } from "../store/store.ts";
import { errorResponses, jsonContent, probeSignature } from "./openapi.ts";

/** Why a probe request was refused, for metrics. */
export type RefusalReason =
  | "too_large"
  | "missing_headers"
  | "unknown_probe"
  | "stale_timestamp"
  | "bad_signature"
  | "probe_mismatch"
  | "replayed"
  | "malformed_json"
  | "invalid_report"
  | "busy";

/** Every refusal reason, for metrics that list each one from the start. */
export const refusalReasons: readonly RefusalReason[] = [
  "too_large",
  "missing_headers",
  "unknown_probe",
  "stale_timestamp",
  "bad_signature",
  "probe_mismatch",
  "replayed",
  "malformed_json",
  "invalid_report",
  "busy",
];

const signatureHeaders = [
  { name: PROBE_HEADER, in: "header" as const, required: true, schema: { type: "string" as const } },
  { name: TIMESTAMP_HEADER, in: "header" as const, required: true, schema: { type: "string" as const } },
  {
    name: SIGNATURE_HEADER,
    in: "header" as const,
    required: true,
    description: 'v1=HEX(HMAC-SHA256(secret, TIMESTAMP + "." + RAW_BODY))',
    schema: { type: "string" as const },
  },
];

/** What the OpenAPI registry accepts as a schema component. */
type SchemaComponent = Parameters<OpenAPIHono["openAPIRegistry"]["registerComponent"]>[2];

function ref(name: string) {
  return { $ref: `#/components/schemas/${name}` };
}

/** The probe protocol's schemas are `zod/mini` (small edge bundles); OpenAPI gets their JSON Schema. */
function registerProtocolSchemas(app: OpenAPIHono): void {
  for (const [name, schema] of [
    ["Report", reportSchema],
    ["Assignments", assignmentsSchema],
  ] as const) {
    const { $schema: _dialect, ...jsonSchema } = toJSONSchema(schema);
    // zod's JSON Schema (draft 2020-12) is the schema dialect of OpenAPI 3.1, which we serve
    app.openAPIRegistry.registerComponent("schemas", name, jsonSchema as unknown as SchemaComponent);
  }
  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/v1/probes/{id}/assignments",
    tags: ["probes"],
    summary: "The checks a probe runs each round",
    description: "Signed like a report, over an empty body; a probe may only read its own assignments.",
    security: probeSignature,
    parameters: [
      { name: "id", in: "path", required: true, schema: { type: "string" }, example: "fly-iad" },
      ...signatureHeaders,
      {
        name: FEATURES_HEADER,
        in: "header" as const,
        required: false,
        description:
          'Protocol additions the probe understands, comma-separated: "confirm" adds confirmIntervalMs, maxConfirming and each check\'s failAfter',
        schema: { type: "string" as const },
      },
    ],
    responses: {
      200: {
        description: "The probe's assignments",
        content: { "application/json": { schema: ref("Assignments") } },
      },
      ...errorResponses(401),
    },
  });
  // Documented, not validated by the framework: the handler must hash the raw body before parsing it.
  app.openAPIRegistry.registerPath({
    method: "post",
    path: "/v1/reports",
    tags: ["probes"],
    summary: "Push a signed probe report",
    description:
      "Checks, in this order: body over 256 KiB → 413 (before any hashing); missing headers, unknown probe, " +
      "timestamp more than 60 s off, bad signature → 401; a report id already accepted from that probe → 401; " +
      "malformed JSON or a body that fails the schema → 400; a report naming another probe than its signer → 401; " +
      "too many reports waiting to be stored → 429 with Retry-After (seconds), nothing changed.",
    security: probeSignature,
    request: {
      body: { required: true, content: { "application/json": { schema: ref("Report") } } },
    },
    parameters: signatureHeaders,
    responses: {
      202: jsonContent(reportAcceptedSchema, "Accepted and folded into the votes"),
      ...errorResponses(400, 401, 413, 429),
    },
  });
}

/** Mounts `POST /v1/reports` and `GET /v1/probes/{id}/assignments`. */
export function mountProbeRoutes(app: OpenAPIHono, deps: AppDeps): void {
  const refuse = (reason: RefusalReason, status: 400 | 401 | 413, message: string, issues?: unknown[]) => {
    deps.onRefused?.(reason);
    return new HttpError(status, reason, message, issues);
  };

  const authenticate = async (headers: Headers, body: string) => {
    const check = await verifySignature(headers, body, {
      secretFor: deps.secretFor,
      nowMs: deps.clock.now(),
    });
    if (!check.ok) throw refuse(check.code, 401, check.message);
    return check.probeId;
  };

  registerProtocolSchemas(app);
  app.post(
    "/v1/reports",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw refuse("too_large", 413, `Report body is larger than ${MAX_BODY_BYTES} bytes`);
      },
    }),
    async (c) => {
      const raw = await c.req.text();
      const probeId = await authenticate(c.req.raw.headers, raw);
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch (error) {
        throw refuse("malformed_json", 400, `Report is not valid JSON: ${(error as Error).message}`); // JSON.parse throws SyntaxError
      }
      // CONTRACT §5 order: a replayed id is refused (401) before the body is judged against the schema (400).
      const claimed = typeof json === "object" && json !== null && "id" in json ? json.id : undefined;
      if (typeof claimed === "string" && (await deps.coordinator.reportSeen(probeId, claimed))) {
        throw refuse("replayed", 401, `Report "${claimed}" from probe "${probeId}" was already accepted`);
      }
      const parsed = reportSchema.safeParse(json);
      if (!parsed.success) {
        throw refuse("invalid_report", 400, "Report does not match the schema", parsed.error.issues);
      }
      if (parsed.data.probe !== probeId) {
        throw refuse(
          "probe_mismatch",
          401,
          `Report names probe "${parsed.data.probe}" but is signed by "${probeId}"`,
        );
      }
      try {
        await deps.coordinator.acceptReport(parsed.data);
      } catch (error) {
        if (error instanceof ReplayError) throw refuse("replayed", 401, error.message);
        if (error instanceof IngestBusyError) {
          deps.onRefused?.("busy");
          return c.json(error.body(), 429, { "retry-after": String(error.retryAfterSeconds) });
        }
        throw error;
      }
      deps.onAccepted?.(probeId, parsed.data);
      return c.json({ accepted: true, id: parsed.data.id }, 202);
    },
  );

  app.get("/v1/probes/:id/assignments", async (c) => {
    const probeId = await authenticate(c.req.raw.headers, "");
    const id = c.req.param("id");
    if (probeId !== id) {
      throw refuse("probe_mismatch", 401, `Assignments of "${id}" requested by probe "${probeId}"`);
    }
    const assignments = deps.coordinator.assignments(probeId);
    // Older probes refuse unknown keys, so the confirmation keys go only to probes that ask for them.
    const features = (c.req.header(FEATURES_HEADER) ?? "").split(",").map((f) => f.trim());
    const wanted = features.includes("confirm");
    return c.json(wanted ? withConfirmation(assignments, deps.coordinator.config) : assignments, 200);
  });
}
