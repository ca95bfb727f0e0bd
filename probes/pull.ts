/**
 * The pull-mode probe (Deno Deploy, Cloudflare Workers): answers the coordinator's signed
 * `POST /v1/run` with a signed report, and pushes a backstop report when a cron fires. Web APIs only;
 * the runtime entries (`deno.ts`, `worker.ts`) only wire it to their server and cron.
 */
import type { Clock } from "../shared/clock.ts";
import type { Logger } from "../shared/log.ts";
import {
  type ErrorBody,
  FEATURES_HEADER,
  MAX_BODY_BYTES,
  type RunRequest,
  runRequestSchema,
} from "../shared/protocol.ts";
import { MAX_SKEW_SECONDS, verifySignature } from "../shared/signing.ts";
import { CheckSlots, type ProbeLimits, SERVER_LIMITS } from "./limits.ts";
import { PushProbe } from "./push.ts";
import { runRound, signReport } from "./report.ts";

/** What a pull probe runs with. */
export interface PullProbeOptions {
  id: string;
  secret: string;
  /** Coordinator base URLs for the backstop push; may be empty (then the cron does nothing). */
  coordinators: readonly string[];
  fetch: typeof fetch;
  clock: Clock;
  log: Logger;
  /** The backstop push is skipped when this isolate answered a pull within this many ms (default 60 s). */
  backstopQuietMs?: number;
  /** The runtime's limits per invocation (default `SERVER_LIMITS`; a Worker passes `WORKERS_LIMITS`). */
  limits?: ProbeLimits;
}

/** A pull probe: `handle` serves HTTP, `backstop` is the cron's job. */
export interface PullProbe {
  handle(request: Request): Promise<Response>;
  /** Pushes one report to every coordinator unless a pull was answered recently; never throws. */
  backstop(options?: { force?: boolean }): Promise<"pushed" | "skipped" | "no-assignments">;
}

/** Builds a pull probe around the portable check runner. */
export function createPullProbe(options: PullProbeOptions): PullProbe {
  // Run ids seen within the skew window. Serverless isolates do not share this set; the signed
  // timestamp still bounds any replay to MAX_SKEW_SECONDS.
  const seen = new Map<string, number>();
  let lastPullAt: number | null = null;

  const run = async (request: Request): Promise<Response> => {
    const refused = await readRunRequest(request, options, seen);
    if (refused instanceof Response) return refused;
    lastPullAt = options.clock.now();
    // Each pull is one invocation: a fresh subrequest budget (the answer itself is no subrequest).
    const features = request.headers.get(FEATURES_HEADER) ?? "";
    const report = await runRound(options.id, refused, {
      fetch: options.fetch,
      clock: options.clock,
      slots: new CheckSlots(options.limits ?? SERVER_LIMITS),
      sendSkipped: features.split(",").some((f) => f.trim() === "skipped"),
    });
    const signed = await signReport(report, options.secret, options.clock.now());
    return new Response(signed.body, { status: 200, headers: signed.headers });
  };

  return {
    async handle(request) {
      const path = new URL(request.url).pathname;
      if (path === "/v1/run") {
        if (request.method !== "POST") return errorResponse(405, "method_not_allowed", "Use POST /v1/run");
        return run(request);
      }
      if (path === "/healthz" || path === "/") return Response.json({ ok: true, probe: options.id });
      return errorResponse(404, "not_found", `No route ${request.method} ${path}`);
    },
    async backstop(backstopOptions = {}) {
      const quiet = options.backstopQuietMs ?? 60_000;
      const recent = lastPullAt !== null && options.clock.now() - lastPullAt < quiet;
      if ((recent && !backstopOptions.force) || options.coordinators.length === 0) return "skipped";
      // One shot: a serverless isolate may not live to run a confirmation's timer.
      const push = new PushProbe({ ...options, confirm: false });
      await push.round();
      return push.rounds > 0 ? "pushed" : "no-assignments";
    },
  };
}

/**
 * Reads and authenticates a run request, in the order of CONTRACT §5: 413 before hashing, then 401 for
 * the signature, 400 for the body, 401 for a run meant for another probe or one already answered.
 */
async function readRunRequest(
  request: Request,
  options: PullProbeOptions,
  seen: Map<string, number>,
): Promise<RunRequest | Response> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) return tooLarge();
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.byteLength > MAX_BODY_BYTES) return tooLarge();
  const raw = new TextDecoder().decode(bytes);
  const nowMs = options.clock.now();
  const check = await verifySignature(request.headers, raw, {
    verifier: "probe",
    secretFor: (id) => (id === options.id ? options.secret : undefined),
    nowMs,
  });
  if (!check.ok) return errorResponse(401, check.code, check.message);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return errorResponse(400, "malformed_json", "Run request is not valid JSON");
  }
  const parsed = runRequestSchema.safeParse(json);
  if (!parsed.success) {
    return errorResponse(
      400,
      "invalid_run_request",
      "Run request does not match the schema",
      parsed.error.issues,
    );
  }
  if (parsed.data.probe !== options.id) {
    return errorResponse(
      401,
      "probe_mismatch",
      `Run request is for probe "${parsed.data.probe}", not "${options.id}"`,
    );
  }
  for (const [id, at] of seen) if (nowMs - at > 2 * MAX_SKEW_SECONDS * 1000) seen.delete(id);
  if (seen.has(parsed.data.id)) {
    return errorResponse(401, "replayed", `Run request "${parsed.data.id}" was already answered`);
  }
  seen.set(parsed.data.id, nowMs);
  return parsed.data;
}

function tooLarge(): Response {
  return errorResponse(413, "too_large", `Run request body is larger than ${MAX_BODY_BYTES} bytes`);
}

function errorResponse(status: number, code: string, message: string, issues?: unknown[]): Response {
  const body: ErrorBody = { error: { code, message, ...(issues ? { issues } : {}) } };
  return Response.json(body, { status });
}

/** The settings a serverless probe reads from its environment. */
export interface PullProbeSettings {
  id: string;
  secret: string;
  coordinators: string[];
}

/** Reads `HEALTHMESH_PROBE_ID`, `HEALTHMESH_PROBE_SECRET` and `HEALTHMESH_COORDINATORS` (comma-separated URLs). */
export function pullProbeSettings(env: (name: string) => string | undefined): PullProbeSettings {
  const id = env("HEALTHMESH_PROBE_ID");
  const secret = env("HEALTHMESH_PROBE_SECRET");
  if (!id) throw new Error("Missing probe id: set HEALTHMESH_PROBE_ID to the id under probes.members");
  if (!secret) throw new Error(`Missing probe secret: set HEALTHMESH_PROBE_SECRET for probe "${id}"`);
  const coordinators = (env("HEALTHMESH_COORDINATORS") ?? "")
    .split(",")
    .map((url) => url.trim().replace(/\/+$/, ""))
    .filter((url) => url.length > 0);
  return { id, secret, coordinators };
}
