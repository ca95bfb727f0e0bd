/** Probe-facing routes (CONTRACT §5): signed report ingest and assignments. */
import type { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { MAX_BODY_BYTES, reportSchema } from "../../shared/protocol.ts";
import { verifySignature } from "../../shared/signing.ts";
import type { AppDeps } from "../app.ts";
import { HttpError } from "../http-error.ts";
import { ReplayError } from "../store/store.ts";

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
  | "invalid_report";

/** Mounts `POST /v1/reports` and `GET /v1/probes/{id}/assignments`. */
export function mountProbeRoutes(app: Hono, deps: AppDeps): void {
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
        throw error;
      }
      deps.onAccepted?.(probeId);
      return c.json({ accepted: true, id: parsed.data.id }, 202);
    },
  );

  app.get("/v1/probes/:id/assignments", async (c) => {
    const probeId = await authenticate(c.req.raw.headers, "");
    if (probeId !== c.req.param("id")) {
      throw refuse(
        "probe_mismatch",
        401,
        `Assignments of "${c.req.param("id")}" requested by probe "${probeId}"`,
      );
    }
    return c.json(deps.coordinator.assignments(probeId));
  });
}
