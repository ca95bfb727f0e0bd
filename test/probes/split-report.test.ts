import { afterEach, describe, expect, it } from "vitest";
import { PushProbe } from "../../probes/push.ts";
import { splitReport } from "../../probes/report.ts";
import { configFromObject } from "../../shared/config.ts";
import { silentLogger } from "../../shared/log.ts";
import { MAX_BODY_BYTES, type Report, reportSchema } from "../../shared/protocol.ts";
import { configObject, secretOf, testCoordinator } from "../helpers.ts";

const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

const name = (i: number) => `svc-${String(i).padStart(5, "0")}`;

/** A config of `count` services, each with its own router and check hosts, watched by one probe. */
function manyServices(count: number) {
  const base = configObject({ probes: 1, service: { failAfter: 1, recoverAfter: 1 } });
  const template = base.services[0];
  const services = Array.from({ length: count }, (_, i) => ({
    ...template,
    name: name(i),
    router: `${name(i)}-router`,
    primary: { target: "cf-front.example.com.", check: { url: `https://p-${name(i)}.example.com/healthz` } },
    secondary: {
      target: "cdn2-front.example.com.",
      check: { url: `https://s-${name(i)}.example.com/healthz` },
    },
  }));
  return configFromObject({ ...base, services });
}

function bodyBytes(report: Report): number {
  return new TextEncoder().encode(JSON.stringify(report)).length;
}

describe("a probe's round larger than the body limit", () => {
  it("is split into valid reports under the limit, each with its own id, the results in order", () => {
    const at = new Date(0).toISOString();
    const results = Array.from({ length: 5_000 }, (_, i) => ({
      service: name(i),
      endpoint: "primary" as const,
      ok: false,
      status: 503,
      latencyMs: 12,
      error: `é${"x".repeat(i % 300)}`, // multi-byte and uneven sizes: measured in bytes, not characters
      checkedAt: at,
    }));
    const report: Report = { id: "round-1", probe: "p1", sentAt: at, healthy: true, results };
    const parts = splitReport(report, 32 * 1024);
    expect(parts.length).toBeGreaterThan(10);
    expect(new Set(parts.map((p) => p.id)).size).toBe(parts.length);
    expect(parts[0]?.id).toBe("round-1");
    for (const part of parts) {
      expect(bodyBytes(part)).toBeLessThanOrEqual(32 * 1024);
      expect(reportSchema.safeParse(part).success).toBe(true);
      expect(part).toMatchObject({ probe: "p1", sentAt: at, healthy: true });
    }
    expect(parts.flatMap((p) => p.results)).toEqual(results);
    // Filled, not merely split: every part but the last had no room for the next result.
    for (let i = 0; i + 1 < parts.length; i++) {
      const next = parts[i + 1]?.results[0];
      const part = parts[i];
      if (!next || !part) throw new Error("missing part");
      expect(bodyBytes({ ...part, results: [...part.results, next] })).toBeGreaterThan(32 * 1024);
    }
  });

  it("stays one report when it fits, also with no results", () => {
    const report: Report = {
      id: "r",
      probe: "p1",
      sentAt: new Date(0).toISOString(),
      healthy: false,
      results: [],
    };
    expect(splitReport(report)).toEqual([report]);
  });

  it("with 10,000 services reaches the coordinator in full: a service near the end fails over", async () => {
    const count = 10_000;
    const failing = `https://p-${name(count - 3)}.example.com/healthz`;
    const mesh = await testCoordinator({ config: manyServices(count) });
    const { app, clock, coordinator } = mesh;
    const posted: { status: number; bytes: number }[] = [];
    const world: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      if (request.url.startsWith("http://coordinator")) {
        const response = await app.fetch(request.clone());
        if (request.method === "POST")
          posted.push({ status: response.status, bytes: (await request.arrayBuffer()).byteLength });
        return response;
      }
      return new Response("ok", { status: request.url === failing ? 503 : 200 });
    };
    const probe = new PushProbe({
      id: "p1",
      secret: secretOf("p1"),
      coordinators: ["http://coordinator"],
      fetch: world,
      clock,
      log: silentLogger,
      confirm: false,
    });
    stops.push(
      () => probe.stop(),
      () => coordinator.stop(),
    );
    await probe.round();
    const total = posted.reduce((sum, p) => sum + p.bytes, 0);
    expect(total).toBeGreaterThan(2 * 1024 * 1024); // 20,000 results: about 2.4 MB
    // Nearly full parts, not one per result.
    expect(posted.length).toBeGreaterThanOrEqual(Math.ceil(total / MAX_BODY_BYTES));
    expect(posted.length).toBeLessThanOrEqual(Math.ceil(total / MAX_BODY_BYTES) + 1);
    expect(posted.every((p) => p.status === 202 && p.bytes <= MAX_BODY_BYTES)).toBe(true);
    // Every result was folded: each of the 20,000 endpoints has this probe's track.
    let tracked = 0;
    for (let i = 0; i < count; i++)
      for (const endpoint of ["primary", "secondary"] as const)
        if (coordinator.track("p1", name(i), endpoint)?.vote) tracked++;
    expect(tracked).toBe(2 * count);
    expect(coordinator.service(name(count - 3)).active).toBe("secondary");
    expect(coordinator.service(name(count - 4)).active).toBe("primary");
  }, 120_000);

  it("counts the not-checked results of a round's parts together, and afresh for the next round", async () => {
    const mesh = await testCoordinator({ config: configFromObject(configObject({ probes: 1 })) });
    stops.push(() => mesh.coordinator.stop());
    const part = (id: string, sentAtMs: number, skipped: number): Report => {
      const at = new Date(sentAtMs).toISOString();
      const result = { service: "web", endpoint: "primary" as const, ok: false, checkedAt: at };
      return {
        id,
        probe: "p1",
        sentAt: at,
        healthy: true,
        results: Array.from({ length: skipped }, () => ({ ...result, skipped: "subrequest-cap" as const })),
      };
    };
    await mesh.coordinator.acceptReport(part("a1", 0, 2));
    await mesh.coordinator.acceptReport(part("a2", 0, 3));
    expect(mesh.coordinator.probe("p1")?.notChecked).toBe(5);
    await mesh.coordinator.acceptReport(part("b1", 10_000, 1));
    expect(mesh.coordinator.probe("p1")?.notChecked).toBe(1);
  });
});
