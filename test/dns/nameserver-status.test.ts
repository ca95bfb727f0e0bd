import { afterEach, describe, expect, it } from "vitest";
import { NO_UDP_REASON } from "../../coordinator/dns/nameserver-status.ts";
import { CoordinatorMetrics } from "../../coordinator/metrics.ts";
import { buildStatus } from "../../coordinator/status.ts";
import { type Harness, startHarness } from "./harness.ts";

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const ROUTER = "svc0-router.example.com";

describe("nameserver truth in status and metrics", () => {
  it("says why a coordinator without UDP (Workers) shows no nameserver answers", async () => {
    h = await startHarness({});
    const status = buildStatus(h.coordinator, h.clock.now());
    expect(status.nameservers).toEqual({ checking: false, reason: NO_UDP_REASON, providers: {} });
    expect(status.services[0]?.dns.desec?.serving).toBeUndefined();
    expect(NO_UDP_REASON).toContain("Workers have no UDP");
  });

  it("exports a served == decided gauge per provider and the failed questions per provider", async () => {
    h = await startHarness({});
    await h.settle();
    const at = h.clock.now();
    h.coordinator.nameservers = {
      serving: () => [
        {
          provider: "desec",
          router: ROUTER,
          values: ["svc0-cf.example.net."],
          matches: true,
          lagging: false,
          checkedAt: at,
          servers: [{ server: "127.0.0.1:53", values: ["svc0-cf.example.net."] }],
        },
        {
          provider: "cloudflare",
          router: ROUTER,
          values: ["old.example.net."],
          matches: false,
          lagging: true,
          checkedAt: at,
          servers: [{ server: "127.0.0.1:54", values: ["old.example.net."] }],
        },
      ],
      providers: () => ({
        desec: { servers: ["127.0.0.1:53"], queries: 4, queryErrors: 0 },
        cloudflare: { servers: ["127.0.0.1:54"], queries: 4, queryErrors: 3 },
      }),
    };
    const status = buildStatus(h.coordinator, at);
    expect(status.services[0]?.dns.cloudflare?.serving).toMatchObject({
      lagging: true,
      matches: false,
      values: ["old.example.net."],
    });
    const text = new CoordinatorMetrics().render(status, { startedAt: at });
    expect(text).toContain('healthmesh_dns_nameservers_serving_desired{service="svc0",provider="desec"} 1');
    expect(text).toContain(
      'healthmesh_dns_nameservers_serving_desired{service="svc0",provider="cloudflare"} 0',
    );
    expect(text).toContain('healthmesh_dns_nameserver_query_errors_total{provider="cloudflare"} 3');
  });
});
