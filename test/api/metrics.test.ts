import { describe, expect, it } from "vitest";
import { buildApp } from "../../coordinator/app.ts";
import { CoordinatorMetrics } from "../../coordinator/metrics.ts";
import { refusalReasons } from "../../coordinator/routes/probes.ts";
import { configFromObject } from "../../shared/config.ts";
import { silentLogger } from "../../shared/log.ts";
import {
  configObject,
  sampleReport,
  secretOf,
  signedReportRequest,
  TOKEN,
  testCoordinator,
} from "../helpers.ts";
import { parsePrometheusText, sampleValue } from "./prometheus-text.ts";

const auth = { authorization: `Bearer ${TOKEN}` };

/** A coordinator that failed over by 3 of 3 down votes, and an app sharing `metrics` with it. */
async function failedOver(options: { protect?: boolean } = {}) {
  const config = configFromObject({
    ...configObject(),
    coordinator: { protectMetrics: options.protect ?? false },
  });
  const t = await testCoordinator({ config });
  for (let round = 0; round < 3; round++) {
    if (round > 0) await t.clock.advance(1000);
    for (const probe of ["p1", "p2", "p3"]) await t.report(probe, { primary: false, secondary: true });
  }
  await t.coordinator.reconciler.idle();
  const metrics = new CoordinatorMetrics({ refusalReasons, destinations: ["slack", "ops-webhook"] });
  const app = buildApp({
    coordinator: t.coordinator,
    clock: t.clock,
    log: silentLogger,
    apiToken: TOKEN,
    secretFor: (id) => (["p1", "p2", "p3"].includes(id) ? secretOf(id) : undefined),
    metrics,
  });
  const scrape = async () => {
    const response = await app.request("/metrics", { headers: auth });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    return parsePrometheusText(await response.text());
  };
  return { ...t, app, metrics, scrape };
}

describe("GET /metrics", () => {
  it("exposes verdicts, votes, the active path and the switch after a failover", async () => {
    const t = await failedOver();
    const m = await t.scrape();
    expect(sampleValue(m, "healthmesh_active_path", { service: "web", path: "secondary" })).toBe(1);
    expect(sampleValue(m, "healthmesh_active_path", { service: "web", path: "primary" })).toBe(0);
    expect(sampleValue(m, "healthmesh_endpoint_verdict", { endpoint: "primary", verdict: "down" })).toBe(1);
    expect(sampleValue(m, "healthmesh_endpoint_verdict", { endpoint: "secondary", verdict: "up" })).toBe(1);
    expect(sampleValue(m, "healthmesh_endpoint_votes", { endpoint: "primary", vote: "down" })).toBe(3);
    expect(sampleValue(m, "healthmesh_endpoint_votes", { endpoint: "primary", vote: "abstain" })).toBe(0);
    expect(sampleValue(m, "healthmesh_switches_total", { service: "web", type: "failover" })).toBe(1);
    expect(sampleValue(m, "healthmesh_switches_total", { service: "web", type: "failback" })).toBe(0);
    expect(sampleValue(m, "healthmesh_service_mode", { mode: "auto" })).toBe(1);
    expect(sampleValue(m, "healthmesh_events_total", { type: "failover" })).toBe(1);
    expect(m.get("healthmesh_switches_total")?.type).toBe("counter");
  });

  it("exposes each DNS provider's state, divergence and last-write age", async () => {
    const t = await failedOver();
    await t.clock.advance(7000);
    const m = await t.scrape();
    expect(sampleValue(m, "healthmesh_dns_provider_state", { provider: "memory", state: "in-sync" })).toBe(1);
    expect(sampleValue(m, "healthmesh_dns_serving_active", { provider: "memory" })).toBe(1);
    expect(sampleValue(m, "healthmesh_dns_divergent", { service: "web" })).toBe(0);
    expect(sampleValue(m, "healthmesh_dns_last_write_age_seconds", { provider: "memory" })).toBe(7);
    expect(sampleValue(m, "healthmesh_dns_state_age_seconds", { provider: "memory" })).toBeGreaterThanOrEqual(
      7,
    );
  });

  it("exposes how long ago each probe was seen, and only for probes that reported", async () => {
    const t = await failedOver();
    await t.clock.advance(4000);
    await t.report("p1", { primary: false });
    await t.clock.advance(2500);
    const m = await t.scrape();
    expect(sampleValue(m, "healthmesh_probe_last_seen_age_seconds", { probe: "p1" })).toBe(2.5);
    expect(sampleValue(m, "healthmesh_probe_last_seen_age_seconds", { probe: "p2" })).toBe(6.5);
    expect(sampleValue(m, "healthmesh_probe_silent", { probe: "p1" })).toBe(0);
    expect(sampleValue(m, "healthmesh_probe_check_ok", { probe: "p1", endpoint: "primary" })).toBe(0);
  });

  it("counts accepted reports by probe and refused ones by reason", async () => {
    const t = await failedOver();
    const now = t.clock.now();
    expect(
      (await t.app.request(await signedReportRequest(sampleReport("p1", now), { nowMs: now }))).status,
    ).toBe(202);
    const forged = await signedReportRequest(sampleReport("p2", now), { nowMs: now, secret: "guess" });
    expect((await t.app.request(forged)).status).toBe(401);
    const big = new Request("http://c/v1/reports", { method: "POST", body: "x".repeat(256 * 1024 + 1) });
    expect((await t.app.request(big)).status).toBe(413);
    const m = await t.scrape();
    expect(sampleValue(m, "healthmesh_reports_accepted_total", { probe: "p1" })).toBe(1);
    expect(sampleValue(m, "healthmesh_reports_refused_total", { reason: "bad_signature" })).toBe(1);
    expect(sampleValue(m, "healthmesh_reports_refused_total", { reason: "too_large" })).toBe(1);
    expect(sampleValue(m, "healthmesh_reports_refused_total", { reason: "replayed" })).toBe(0);
    expect(
      sampleValue(m, "healthmesh_probe_check_latency_seconds", { probe: "p1", endpoint: "primary" }),
    ).toBe(0.012);
  });

  it("counts alert deliveries and failures reported through metrics.alerts", async () => {
    const t = await failedOver();
    t.metrics.alerts.delivered("slack");
    t.metrics.alerts.delivered("slack");
    t.metrics.alerts.failed("ops-webhook");
    const m = await t.scrape();
    expect(sampleValue(m, "healthmesh_alert_deliveries_total", { destination: "slack" })).toBe(2);
    expect(sampleValue(m, "healthmesh_alert_deliveries_total", { destination: "ops-webhook" })).toBe(0);
    expect(sampleValue(m, "healthmesh_alert_failures_total", { destination: "ops-webhook" })).toBe(1);
  });

  it("counts switches from the audit log, so a new app over the same store reports the same total", async () => {
    const t = await failedOver();
    await t.coordinator.failover("web", "primary", { actor: "test" });
    const fresh = buildApp({
      coordinator: t.coordinator,
      clock: t.clock,
      log: silentLogger,
      apiToken: TOKEN,
      secretFor: () => undefined,
    });
    for (const app of [t.app, fresh]) {
      const m = parsePrometheusText(await (await app.request("/metrics", { headers: auth })).text());
      expect(sampleValue(m, "healthmesh_switches_total", { type: "failover" })).toBe(1);
      expect(sampleValue(m, "healthmesh_switches_total", { type: "pin" })).toBe(1);
    }
  });

  it("is open by default and needs the token with coordinator.protectMetrics", async () => {
    const open = await failedOver();
    expect((await open.app.request("/metrics")).status).toBe(200);
    const closed = await failedOver({ protect: true });
    const refused = await closed.app.request("/metrics");
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
    const allowed = await closed.app.request("/metrics", { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(allowed.status).toBe(200);
  });

  it("escapes label values so a hostile name cannot forge a series", async () => {
    const t = await failedOver();
    t.metrics.alerts.failed('evil"} healthmesh_active_path{path="x"} 1\n');
    const m = await t.scrape();
    expect(
      sampleValue(m, "healthmesh_alert_failures_total", {
        destination: 'evil"} healthmesh_active_path{path="x"} 1\n',
      }),
    ).toBe(1);
  });
});
