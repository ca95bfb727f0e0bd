import { afterEach, describe, expect, it } from "vitest";
import { UdpNameserverClient } from "../../coordinator/dns/nameserver-udp.ts";
import { NameserverWatch } from "../../coordinator/dns/nameserver-watch.ts";
import type { DesiredTarget } from "../../coordinator/dns/reconciler.ts";
import { ManualClock } from "../../shared/clock.ts";
import { silentLogger } from "../../shared/log.ts";
import { type ServedRrset, type StandinDnsServer, startDnsServer } from "../../standins/dns-server.ts";

let server: StandinDnsServer | null = null;
afterEach(async () => {
  await server?.stop();
  server = null;
});

describe("address routers over DNS", () => {
  it("asks A and AAAA for an apex address router and compares the set, IPv6 in any spelling", async () => {
    const zone: ServedRrset[] = [
      { name: "example.com", type: "A", ttl: 60, values: ["192.0.2.10"] },
      { name: "example.com", type: "AAAA", ttl: 60, values: ["2001:DB8:0:0::10"] },
    ];
    server = await startDnsServer({ zone: "example.com", source: () => zone });
    const port = server.port;
    let desired: DesiredTarget[] = [
      { service: "web", router: "example.com", target: "192.0.2.10, 2001:db8::10", ttl: { desec: 60 } },
    ];
    const watch = new NameserverWatch({
      providers: [{ name: "desec", servers: async () => [{ host: "127.0.0.1", port }] }],
      client: new UdpNameserverClient(),
      desired: () => desired,
      apiStates: () => [],
      record: async () => {},
      clock: new ManualClock(),
      log: silentLogger,
      intervalMs: 60_000,
      lagAfterMs: 60_000,
      timeoutMs: 2000,
    });
    await watch.check();
    expect(watch.serving()[0]).toMatchObject({ values: ["192.0.2.10", "2001:db8::10"], matches: true });
    desired = [{ service: "web", router: "example.com", target: "198.51.100.7", ttl: { desec: 60 } }];
    await watch.check();
    expect(watch.serving()[0]).toMatchObject({ values: ["192.0.2.10", "2001:db8::10"], matches: false });
    expect(watch.providers().desec?.queries).toBe(4);
  });
});
