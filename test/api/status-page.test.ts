import { describe, expect, it } from "vitest";
import { buildApp } from "../../coordinator/app.ts";
import { CoordinatorMetrics } from "../../coordinator/metrics.ts";
import type { Dashboard } from "../../shared/api-schema.ts";
import { configFromObject } from "../../shared/config.ts";
import { silentLogger } from "../../shared/log.ts";
import { configObject, sampleReport, signedReportRequest, TOKEN, testCoordinator } from "../helpers.ts";

const auth = { authorization: `Bearer ${TOKEN}` };

describe("GET / and GET /ui/state", () => {
  it("serves the page to anyone, with no data in it and nothing from another origin", async () => {
    const t = await testCoordinator();
    const response = await t.app.request("/");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-security-policy")).toMatch(/default-src 'none'.*connect-src 'self'/);
    const html = await response.text();
    expect(html).toContain('<main id="app"');
    expect(html).not.toContain("cf-front.example.com"); // state comes from /ui/state, behind the token
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//i);
  });

  it("refuses the page's data without the token when the page is not public", async () => {
    const t = await testCoordinator();
    const response = await t.app.request("/ui/state");
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
    expect((await t.app.request("/ui/state", { headers: auth })).status).toBe(200);
  });

  it("serves the page's data without a token when coordinator.publicStatusPage is true", async () => {
    const config = configFromObject({ ...configObject(), coordinator: { publicStatusPage: true } });
    const t = await testCoordinator({ config });
    const response = await t.app.request("/ui/state");
    expect(response.status).toBe(200);
    expect(((await response.json()) as Dashboard).public).toBe(true);
    expect((await t.app.request("/v1/status")).status).toBe(401); // the operator API stays closed
  });

  it("returns status, the newest events and each accepted report's latency", async () => {
    const t = await testCoordinator();
    for (let i = 0; i < 3; i++) {
      const now = t.clock.now();
      const accepted = await t.app.request(
        await signedReportRequest(sampleReport("p2", now), { nowMs: now }),
      );
      expect(accepted.status).toBe(202);
      await t.clock.advance(1000);
    }
    await t.coordinator.pause("web", { actor: "erin" });
    const state = (await (await t.app.request("/ui/state", { headers: auth })).json()) as Dashboard;
    expect(state.status.services[0]?.mode).toBe("paused");
    expect(state.events.at(-1)).toMatchObject({ type: "pause", actor: "erin" });
    expect(state.latency).toEqual([
      expect.objectContaining({ probe: "p2", service: "web", endpoint: "primary" }),
    ]);
    expect(state.latency[0]?.points.map((p) => [p.ok, p.latencyMs])).toEqual([
      [false, 12],
      [false, 12],
      [false, 12],
    ]);
    expect(state.intervalMs).toBe(10_000);
  });

  it("lists each alert destination with the deliveries and failures the alert engine counted", async () => {
    const alerts = [
      { type: "slack", urlEnv: "SLACK_URL" },
      { type: "webhook", name: "pager", urlEnv: "HOOK_URL" },
    ];
    const t = await testCoordinator({ config: configFromObject({ ...configObject(), alerts }) });
    const metrics = new CoordinatorMetrics();
    const app = buildApp({
      coordinator: t.coordinator,
      clock: t.clock,
      log: silentLogger,
      apiToken: TOKEN,
      secretFor: () => undefined,
      metrics,
    });
    metrics.alerts.delivered("slack");
    metrics.alerts.failed("pager");
    metrics.alerts.failed("pager");
    const state = (await (await app.request("/ui/state", { headers: auth })).json()) as Dashboard;
    expect(state.alerts).toEqual([
      { name: "slack", type: "slack", delivered: 1, failed: 0 },
      { name: "pager", type: "webhook", delivered: 0, failed: 2 },
    ]);
  });

  it("keeps only the newest events, oldest first", async () => {
    const t = await testCoordinator();
    for (let i = 0; i < 30; i++) {
      await t.coordinator.pause("web", { actor: `a${i}` });
      await t.coordinator.resume("web", { actor: `a${i}` });
    }
    const state = (await (await t.app.request("/ui/state", { headers: auth })).json()) as Dashboard;
    expect(state.events).toHaveLength(40);
    expect(state.events.at(-1)).toMatchObject({ type: "resume", actor: "a29" });
    const ids = state.events.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });
});

describe("operator bodies", () => {
  it("refuses an operator body over 64 KiB with 413 before validating it", async () => {
    const t = await testCoordinator();
    const body = JSON.stringify({ to: "secondary", reason: "x".repeat(70_000) });
    const response = await t.app.request("/v1/services/web/failover", {
      method: "POST",
      headers: auth,
      body,
    });
    expect(response.status).toBe(413);
    expect(t.coordinator.service("web").mode).toBe("auto");
  });

  it("counts a streamed body without Content-Length and refuses it with 413 past 64 KiB", async () => {
    const t = await testCoordinator();
    const chunk = new TextEncoder().encode(" ".repeat(16 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 8) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const request = new Request("http://c/v1/services/web/pause", {
      method: "POST",
      headers: auth,
      body,
      duplex: "half",
    } as RequestInit); // Node needs `duplex` for a streamed body; the DOM typings lack it

    const response = await t.app.request(request);
    expect(response.status).toBe(413);
    expect(t.coordinator.service("web").mode).toBe("auto");
  });

  it("judges a body sent without a content type by the schema, as before", async () => {
    const t = await testCoordinator();
    const body = JSON.stringify({ actor: "frank", reason: "maintenance" });
    const response = await t.app.request("/v1/services/web/pause", { method: "POST", headers: auth, body });
    expect(response.status).toBe(200);
    const events = await t.coordinator.events({});
    expect(events.at(-1)).toMatchObject({
      type: "pause",
      actor: "operator",
      message: expect.stringContaining("maintenance"),
    });
  });

  it("answers an unknown service with 404 in the same error shape", async () => {
    const t = await testCoordinator();
    const response = await t.app.request("/v1/services/nope/failover", {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ to: "secondary" }),
    });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: { code: "not_found", message: 'Unknown service "nope"' },
    });
  });
});
