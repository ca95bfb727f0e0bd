/**
 * What a status read costs, counted rather than timed: `/v1/status` and `/metrics` read each DNS row
 * once, an accepted report touches its own results only, and the status page's poll is a bounded
 * page plus the latency points it has not seen yet. `/v1/status` keeps its CONTRACT §6 shape.
 */
import { describe, expect, it, vi } from "vitest";
import type { ProviderRouterRow } from "../../coordinator/store/store.ts";
import type { Dashboard, StatusView } from "../../shared/api-schema.ts";
import { configFromObject } from "../../shared/config.ts";
import { configObject, sampleReport, signedReportRequest, TOKEN, testCoordinator } from "../helpers.ts";

const auth = { authorization: `Bearer ${TOKEN}` };
const N = 300;

/** A coordinator with `n` services (web-0 … web-{n-1}); the first `down` of them failed over. */
async function many(n = N, down = 0) {
  const base = configObject();
  const template = base.services[0];
  const services = Array.from({ length: n }, (_, i) => ({
    ...template,
    name: `web-${i}`,
    router: `router-${i}`,
  }));
  const t = await testCoordinator({ config: configFromObject({ ...base, services }) });
  for (let i = 0; i < down; i++) await t.coordinator.failover(`web-${i}`, "secondary", { actor: "test" });
  return t;
}

/** A signed report from `probe` with one primary result per named service. */
async function reportFor(t: Awaited<ReturnType<typeof many>>, probe: string, services: string[]) {
  const now = t.clock.now();
  const base = sampleReport(probe, now);
  const template = base.results[0];
  if (!template) throw new Error("sampleReport has a result");
  const report = { ...base, results: services.map((service) => ({ ...template, service, ok: true })) };
  const response = await t.app.request(await signedReportRequest(report, { nowMs: now }));
  expect(response.status).toBe(202);
}

async function json<T>(
  t: { app: { request: (path: string, init: RequestInit) => Promise<Response> | Response } },
  path: string,
) {
  const response = await t.app.request(path, { headers: auth });
  expect(response.status, path).toBe(200);
  return (await response.json()) as T;
}

describe("status read cost", () => {
  it("reads each DNS row once per /v1/status and /metrics, not once per service", async () => {
    const t = await many();
    let reads = 0;
    const states = t.coordinator.reconciler.states.bind(t.coordinator.reconciler);
    vi.spyOn(t.coordinator.reconciler, "states").mockImplementation(() =>
      states().map((row): ProviderRouterRow => {
        const counted = { ...row };
        Object.defineProperty(counted, "router", {
          get: () => {
            reads++;
            return row.router;
          },
          enumerable: true,
        });
        return counted;
      }),
    );
    const rows = states().length;
    expect(rows).toBe(N);
    await json<StatusView>(t, "/v1/status");
    expect(reads).toBeLessThanOrEqual(2 * rows);
    reads = 0;
    expect((await t.app.request("/metrics")).status).toBe(200);
    expect(reads).toBeLessThanOrEqual(2 * rows);
  });

  it("looks up an accepted report's own results only, not every service's", async () => {
    const t = await many();
    await reportFor(t, "p1", ["web-7"]);
    const track = vi.spyOn(t.coordinator, "track");
    await t.clock.advance(1000);
    await reportFor(t, "p1", ["web-7"]);
    expect(track.mock.calls.length).toBeLessThanOrEqual(2);
  });
});

describe("GET /v1/status with filters", () => {
  it("keeps the CONTRACT §6 shape, every service and no paging field, without parameters", async () => {
    const t = await many(30, 2);
    const status = await json<StatusView & { page?: unknown }>(t, "/v1/status");
    expect(status.services).toHaveLength(30);
    expect(status.page).toBeUndefined();
    expect(Object.keys(status).sort()).toEqual(["nameservers", "now", "probes", "services", "zone"]);
  });

  it("filters by service=NAME (404 for an unknown one) and unhealthy=true, and pages with offset and limit", async () => {
    const t = await many(30, 3);
    const one = await json<StatusView>(t, "/v1/status?service=web-12");
    expect(one.services.map((s) => s.name)).toEqual(["web-12"]);
    const unknown = await t.app.request("/v1/status?service=nope", { headers: auth });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe("not_found");

    // Every probe has seen every primary up, so only the three pinned to the secondary need attention.
    const names = Array.from({ length: 30 }, (_, i) => `web-${i}`);
    for (const round of [1, 2]) {
      for (const probe of ["p1", "p2", "p3"]) await reportFor(t, probe, names);
      if (round === 1) await t.clock.advance(1000);
    }
    const unhealthy = await json<StatusView & { page: unknown }>(t, "/v1/status?unhealthy=true");
    expect(unhealthy.services.map((s) => s.name)).toEqual(["web-0", "web-1", "web-2"]);
    expect(unhealthy.page).toEqual({ offset: 0, limit: 1000, matched: 3, total: 30 });

    const page = await json<StatusView & { page: unknown }>(t, "/v1/status?offset=10&limit=5");
    expect(page.services.map((s) => s.name)).toEqual(["web-10", "web-11", "web-12", "web-13", "web-14"]);
    expect(page.page).toEqual({ offset: 10, limit: 5, matched: 30, total: 30 });
    const bad = await t.app.request("/v1/status?limit=0", { headers: auth });
    expect(bad.status).toBe(400);
  });
});

describe("GET /ui/state, the status page's poll", () => {
  it("sends a summary and one bounded page of services, the ones needing attention first", async () => {
    const t = await many(N, 3);
    const state = await json<Dashboard & { summary: Record<string, unknown>; page: Record<string, number> }>(
      t,
      "/ui/state",
    );
    expect(state.status.services.length).toBeLessThanOrEqual(50);
    expect(state.status.services.slice(0, 3).map((s) => s.active)).toEqual([
      "secondary",
      "secondary",
      "secondary",
    ]);
    expect(state.summary).toMatchObject({ services: N, active: { primary: N - 3, secondary: 3 } });
    expect(state.page).toMatchObject({ offset: 0, matched: N, total: N });
    const filtered = await json<Dashboard>(t, "/ui/state?service=WEB-123");
    expect(filtered.status.services.map((s) => s.name)).toEqual(["web-123"]); // name contains, any case
  });

  it("sends only the latency points newer than the page's last poll, for the services it shows", async () => {
    const t = await many();
    const names = Array.from({ length: N }, (_, i) => `web-${i}`);
    await reportFor(t, "p1", names);
    const first = await json<Dashboard & { cursor: number }>(t, "/ui/state");
    const shown = new Set(first.status.services.map((s) => s.name));
    expect(first.latency.length).toBeGreaterThan(0);
    expect(first.latency.every((series) => shown.has(series.service))).toBe(true);
    const again = await json<Dashboard & { cursor: number }>(t, `/ui/state?since=${first.cursor}`);
    expect(again.latency.flatMap((series) => series.points)).toEqual([]);
    await t.clock.advance(1000);
    await reportFor(t, "p1", names);
    const next = await json<Dashboard & { cursor: number }>(t, `/ui/state?since=${again.cursor}`);
    expect(next.latency.flatMap((series) => series.points)).toHaveLength(first.latency.length);
  });
});
