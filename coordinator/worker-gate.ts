/**
 * The Worker's gate in front of the coordinator's Durable Object. Every request the object answers
 * counts against the Workers plan's Durable Object requests (100,000 a day on the free plan), so the
 * Worker answers itself what needs no state — `/healthz`, the status page and the API docs page —
 * and refuses, without waking the object, every request that fails authentication: probe routes
 * need a valid signature, everything else the operator token unless the config makes that view
 * public (`/ui/state` with `publicStatusPage`, `/metrics` unless `protectMetrics`, `/openapi.json`).
 * The object checks everything again (replays, schemas); the gate only keeps anonymous traffic out.
 */
import type { Config } from "../shared/config-schema.ts";
import { MAX_BODY_BYTES } from "../shared/protocol.ts";
import { verifySignature } from "../shared/signing.ts";
import { OperatorAuth, type OperatorToken } from "./auth.ts";
import { HttpError } from "./http-error.ts";
import { docsPageHtml } from "./ui/docs-page.ts";
import { PAGE_CSP, statusPageHtml } from "./ui/page.ts";

/** What the gate decides with. */
export interface GateContext {
  config: Config;
  /** The operators' tokens (any role passes the gate; the object checks the role). */
  operators: readonly OperatorToken[];
  secretFor: (probeId: string) => string | undefined;
  nowMs: number;
}

/** Answer here, or forward this request (its body already read, so a fresh one) to the object. */
export type GateDecision = { answer: Response } | { forward: Request };

const ASSIGNMENTS = /^\/v1\/probes\/([^/]+)\/assignments$/;

/** Decides what the Worker does with one request. */
export async function gate(request: Request, context: GateContext): Promise<GateDecision> {
  const { pathname } = new URL(request.url);
  const read = request.method === "GET" || request.method === "HEAD";
  if (read && pathname === "/healthz") return { answer: Response.json({ ok: true }) };
  if (read && pathname === "/") return { answer: page(statusPageHtml(), { "cache-control": "no-store" }) };
  if (read && pathname === "/docs") return { answer: page(docsPageHtml(), {}) };
  if (request.method === "POST" && pathname === "/v1/reports") return signedReport(request, context);
  const assignments = read ? ASSIGNMENTS.exec(pathname) : null;
  if (assignments) return signedAssignments(request, decodeURIComponent(assignments[1] ?? ""), context);
  if (read && isPublicView(pathname, context.config)) return { forward: request };
  const refusal = tokenRefusal(request.headers.get("authorization"), context.operators);
  return refusal ? { answer: refusal } : { forward: request };
}

function isPublicView(pathname: string, config: Config): boolean {
  if (pathname === "/openapi.json") return true;
  if (pathname === "/ui/state") return config.coordinator.publicStatusPage;
  if (pathname === "/metrics") return !config.coordinator.protectMetrics;
  return false;
}

async function signedReport(request: Request, context: GateContext): Promise<GateDecision> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) return { answer: tooLarge() };
  const body = await request.text();
  if (new TextEncoder().encode(body).byteLength > MAX_BODY_BYTES) return { answer: tooLarge() };
  const refusal = await signatureRefusal(request.headers, body, context);
  if (refusal) return { answer: refusal };
  return { forward: new Request(request.url, { method: "POST", headers: request.headers, body }) };
}

async function signedAssignments(request: Request, id: string, context: GateContext): Promise<GateDecision> {
  const check = await verifySignature(request.headers, "", {
    secretFor: context.secretFor,
    nowMs: context.nowMs,
  });
  if (!check.ok) return { answer: refusal(401, check.code, check.message) };
  if (check.probeId !== id)
    return {
      answer: refusal(401, "probe_mismatch", `Assignments of "${id}" requested by probe "${check.probeId}"`),
    };
  return { forward: request };
}

async function signatureRefusal(
  headers: Headers,
  body: string,
  context: GateContext,
): Promise<Response | null> {
  const check = await verifySignature(headers, body, { secretFor: context.secretFor, nowMs: context.nowMs });
  return check.ok ? null : refusal(401, check.code, check.message);
}

function tokenRefusal(header: string | null, operators: readonly OperatorToken[]): Response | null {
  try {
    new OperatorAuth(operators).authenticate(header ?? undefined);
    return null;
  } catch (error) {
    if (error instanceof HttpError) return Response.json(error.body(), { status: error.status });
    throw error;
  }
}

function tooLarge(): Response {
  return refusal(413, "too_large", `Report body is larger than ${MAX_BODY_BYTES} bytes`);
}

function refusal(status: number, code: string, message: string): Response {
  return Response.json({ error: { code, message } }, { status });
}

function page(html: string, headers: Record<string, string>): Response {
  return new Response(html, {
    headers: {
      "content-type": "text/html; charset=UTF-8",
      "content-security-policy": PAGE_CSP,
      "referrer-policy": "no-referrer",
      ...headers,
    },
  });
}
