import { describe, expect, it } from "vitest";
import { signedHeaders } from "../../shared/signing.ts";
import { sampleReport, secretOf, signedReportRequest, testCoordinator } from "../helpers.ts";

type T = Awaited<ReturnType<typeof testCoordinator>>;

/** What a refused request must leave untouched. */
async function fingerprint(t: T) {
  return JSON.stringify({
    probe: t.coordinator.probe("p1") ?? null,
    track: t.coordinator.track("p1", "web", "primary") ?? null,
    events: (await t.coordinator.events({})).length,
    service: t.coordinator.service("web"),
  });
}

async function expectRefused(t: T, request: Request, status: number, code: string) {
  const before = await fingerprint(t);
  const response = await t.app.request(request);
  expect(response.status).toBe(status);
  const body = (await response.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(5);
  expect(await fingerprint(t)).toBe(before);
}

describe("POST /v1/reports refusals", () => {
  it("accepts a well-signed report with 202 and counts it", async () => {
    const t = await testCoordinator();
    const response = await t.app.request(
      await signedReportRequest(sampleReport("p1", t.clock.now()), { nowMs: t.clock.now() }),
    );
    expect(response.status).toBe(202);
    expect(t.coordinator.track("p1", "web", "primary")?.fails).toBe(1);
  });

  it("refuses a body over 256 KiB with 413 before checking anything else", async () => {
    const t = await testCoordinator();
    const big = "x".repeat(256 * 1024 + 1);
    await expectRefused(
      t,
      new Request("http://c/v1/reports", { method: "POST", body: big }),
      413,
      "too_large",
    );
  });

  it("refuses a request without signature headers with 401", async () => {
    const t = await testCoordinator();
    const body = JSON.stringify(sampleReport("p1", t.clock.now()));
    await expectRefused(
      t,
      new Request("http://c/v1/reports", { method: "POST", body }),
      401,
      "missing_headers",
    );
  });

  it("refuses a forged report (wrong secret) with 401", async () => {
    const t = await testCoordinator();
    const request = await signedReportRequest(sampleReport("p1", t.clock.now()), {
      nowMs: t.clock.now(),
      secret: "guess",
    });
    await expectRefused(t, request, 401, "bad_signature");
  });

  it("refuses a report from an unknown probe with 401", async () => {
    const t = await testCoordinator();
    const request = await signedReportRequest(sampleReport("p9", t.clock.now()), { nowMs: t.clock.now() });
    await expectRefused(t, request, 401, "unknown_probe");
  });

  it("refuses a report signed 5 minutes ago with 401 and says why", async () => {
    const t = await testCoordinator();
    const request = await signedReportRequest(sampleReport("p1", t.clock.now()), {
      nowMs: t.clock.now() - 300_000,
    });
    await expectRefused(t, request, 401, "stale_timestamp");
  });

  it("refuses a replayed report with 401, also after the coordinator restarts", async () => {
    const t = await testCoordinator();
    const report = sampleReport("p1", t.clock.now());
    const first = await signedReportRequest(report, { nowMs: t.clock.now() });
    expect((await t.app.request(first.clone())).status).toBe(202);
    await expectRefused(t, first, 401, "replayed");
    const restarted = await testCoordinator({ store: t.store, clock: t.clock });
    await expectRefused(
      restarted,
      await signedReportRequest(report, { nowMs: t.clock.now() }),
      401,
      "replayed",
    );
  });

  it("refuses a replayed id with 401 even when the replayed body fails the schema", async () => {
    const t = await testCoordinator();
    const report = sampleReport("p1", t.clock.now());
    expect((await t.app.request(await signedReportRequest(report, { nowMs: t.clock.now() }))).status).toBe(
      202,
    );
    const body = JSON.stringify({ ...report, extra: true });
    await expectRefused(
      t,
      await signedReportRequest(report, { nowMs: t.clock.now(), body }),
      401,
      "replayed",
    );
  });

  it("refuses a body signed by one probe that names another with 401", async () => {
    const t = await testCoordinator();
    const request = await signedReportRequest(sampleReport("p2", t.clock.now()), {
      nowMs: t.clock.now(),
      probe: "p1",
      secret: secretOf("p1"),
    });
    await expectRefused(t, request, 401, "probe_mismatch");
  });

  it("refuses malformed JSON with 400", async () => {
    const t = await testCoordinator();
    const request = await signedReportRequest(sampleReport("p1", t.clock.now()), {
      nowMs: t.clock.now(),
      body: '{"id": "x",',
    });
    await expectRefused(t, request, 400, "malformed_json");
  });

  it.each([
    { why: "a missing field", mutate: ({ healthy: _, ...r }: Record<string, unknown>) => r },
    { why: "a type-confused field", mutate: (r: Record<string, unknown>) => ({ ...r, healthy: "yes" }) },
    {
      why: "an unknown endpoint",
      mutate: (r: Record<string, unknown>) => ({
        ...r,
        results: [{ service: "web", endpoint: "tertiary", ok: false, checkedAt: r.sentAt }],
      }),
    },
    { why: "an extra key", mutate: (r: Record<string, unknown>) => ({ ...r, admin: true }) },
    { why: "an array body", mutate: () => [] },
  ])("refuses $why with 400 and the schema issues", async ({ mutate }) => {
    const t = await testCoordinator();
    const report = sampleReport("p1", t.clock.now());
    const body = JSON.stringify(mutate(report as unknown as Record<string, unknown>)); // the report is a plain JSON object
    const request = await signedReportRequest(report, { nowMs: t.clock.now(), body });
    await expectRefused(t, request, 400, "invalid_report");
  });
});

describe("GET /v1/probes/{id}/assignments", () => {
  it("serves the probe its checks when signed by that probe", async () => {
    const t = await testCoordinator();
    const headers = await signedHeaders("p2", secretOf("p2"), "", t.clock.now());
    const response = await t.app.request("/v1/probes/p2/assignments", { headers });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      intervalMs: number;
      checks: { endpoint: string; url: string }[];
    };
    expect(body.intervalMs).toBe(10_000);
    expect(body.checks.map((c) => c.url)).toEqual([
      "https://cf-front.example.com/healthz",
      "https://cdn2-front.example.com/healthz",
    ]);
  });

  it("refuses another probe's assignments and unsigned requests with 401", async () => {
    const t = await testCoordinator();
    const headers = await signedHeaders("p1", secretOf("p1"), "", t.clock.now());
    expect((await t.app.request("/v1/probes/p2/assignments", { headers })).status).toBe(401);
    expect((await t.app.request("/v1/probes/p2/assignments")).status).toBe(401);
  });
});
