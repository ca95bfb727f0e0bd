/** How many write requests a round needs when one router among N is refused (Cloudflare bisects, deSEC names the item): `npx tsx bench/dns-isolation.ts`. */
import { CloudflareDnsProvider } from "../coordinator/dns/cloudflare.ts";
import { DesecDnsProvider } from "../coordinator/dns/desec.ts";
import { Reconciler } from "../coordinator/dns/reconciler.ts";
import { ManualClock } from "../shared/clock.ts";
import { silentLogger } from "../shared/log.ts";
import { startCloudflareStandin } from "../standins/cloudflare.ts";
import { startDesecStandin } from "../standins/desec.ts";

for (const n of [6, 50, 200]) {
  const clock = new ManualClock();
  const cf = await startCloudflareStandin({ tokens: ["t"], zones: [{ name: "example.com" }], clock });
  const ds = await startDesecStandin({
    tokens: ["t"],
    domains: [{ name: "example.com" }],
    clock,
    limits: { write: [{ limit: 1000, windowMs: 1000 }], read: [{ limit: 1000, windowMs: 1000 }] },
  });
  for (const [label, provider, bad, good] of [
    [
      "cloudflare",
      new CloudflareDnsProvider({ fetch, apiBase: cf.apiBase, token: "t", zone: "example.com", clock }),
      30,
      60,
    ],
    [
      "desec",
      new DesecDnsProvider({ fetch, apiBase: ds.apiBase, token: "t", domain: "example.com", clock }),
      60,
      3600,
    ],
  ] as const) {
    const r = new Reconciler([provider], {
      clock,
      log: silentLogger,
      timing: () => ({ timeoutMs: 10000, maxBackoffMs: 30000 }),
      persist: async () => {},
      random: () => 0.5,
    });
    r.setDesired(
      Array.from({ length: n }, (_, i) => ({
        service: `s${i}`,
        router: `s${i}.example.com`,
        target: `t${i}.example.net.`,
        ttl: { [label]: i === Math.floor(n / 2) ? bad : good },
      })),
    );
    await r.idle();
    const writes =
      label === "cloudflare"
        ? cf.standin.requests.get("POST", "/zones/:zone/dns_records/batch")
        : ds.standin.requests.get("PATCH", "/domains/:name/rrsets/");
    const ok = r.states().filter((s) => s.state === "in-sync").length;
    console.log(`${label}: ${n} routers, 1 refused: ${writes} write requests, ${ok} in sync after one round`);
    r.stop();
  }
  await cf.close();
  await ds.close();
}
