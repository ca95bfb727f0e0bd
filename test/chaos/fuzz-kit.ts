/** The target of the hostile-input scenarios: the coordinator's app in-process, its state, and a request counter. */
import { expect } from "vitest";
import { buildApp } from "../../coordinator/app.ts";
import { silentLogger } from "../../shared/log.ts";
import type { Report } from "../../shared/protocol.ts";
import { signedHeaders } from "../../shared/signing.ts";
import { secretOf, TOKEN, testCoordinator } from "../helpers.ts";

/** A `read` operator's token in the fuzz target (TOKEN is the `operate` one). */
export const READ_TOKEN = "fuzz-read-token";

/** One answer, its body parsed when it is JSON. */
export interface Answer {
  status: number;
  body: unknown;
}

/** A coordinator app on a manual clock (an operate and a read token), with a way to fingerprint everything it holds. */
export async function fuzzTarget() {
  const t = await testCoordinator();
  const app = buildApp({
    coordinator: t.coordinator,
    clock: t.clock,
    log: silentLogger,
    operators: [
      { name: "operator", role: "operate", token: TOKEN },
      { name: "viewer", role: "read", token: READ_TOKEN },
    ],
    secretFor: (id) => (t.config.probes.members.some((m) => m.id === id) ? secretOf(id) : undefined),
  });
  const mesh = { ...t, app };
  let tried = 0;
  /** Sends a request; every refusal must be a 4xx with the JSON error body, never a 5xx. */
  const call = async (request: Request): Promise<Answer> => {
    tried++;
    const response = await mesh.app.request(request);
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // HTML pages and the metrics text
    }
    expect(
      response.status,
      `${request.method} ${new URL(request.url).pathname}: ${text.slice(0, 300)}`,
    ).toBeLessThan(500);
    if (response.status >= 400) {
      expect(body, `${request.method} ${new URL(request.url).pathname}`).toMatchObject({
        error: { code: expect.any(String), message: expect.any(String) },
      });
    }
    return { status: response.status, body };
  };
  /** Everything that a refused request must leave untouched. */
  const fingerprint = async () =>
    JSON.stringify({
      snapshot: await mesh.store.snapshot(),
      events: await mesh.store.listEvents({}),
      services: mesh.coordinator.services(),
      dns: mesh.dns.records,
    });
  return {
    mesh,
    call,
    fingerprint,
    get tried() {
      return tried;
    },
  };
}

/** A request to the app's origin. */
export function request(path: string, init: RequestInit = {}): Request {
  return new Request(`http://coordinator${path}`, init);
}

/** Operator headers with the right token. */
export const operator = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };

/** A signed `POST /v1/reports` of any body text, by `probe` (p1 by default) at `nowMs`. */
export async function signedPost(
  body: string,
  nowMs: number,
  options: { probe?: string; secret?: string; signedBody?: string } = {},
): Promise<Request> {
  const probe = options.probe ?? "p1";
  const headers = await signedHeaders(
    probe,
    options.secret ?? secretOf(probe),
    options.signedBody ?? body,
    nowMs,
  );
  return request("/v1/reports", {
    method: "POST",
    body,
    headers: { ...headers, "content-type": "application/json" },
  });
}

/** A valid report from p1 at `nowMs`. */
export function validReport(nowMs: number, id = crypto.randomUUID()): Report {
  const at = new Date(nowMs).toISOString();
  return {
    id,
    probe: "p1",
    sentAt: at,
    healthy: true,
    results: [{ service: "web", endpoint: "primary", ok: true, status: 200, latencyMs: 3, checkedAt: at }],
  };
}
