/**
 * Measures the time from a failover decision to both DNS stand-ins (Cloudflare and deSEC) serving the
 * new router target, on the system clock, for 1 and for 200 services; also counts the API calls.
 * Run: npx tsx bench/dns-switch.ts
 */
import { Coordinator } from "../coordinator/coordinator.ts";
import { createProviders } from "../coordinator/dns/factory.ts";
import { MemoryStore } from "../coordinator/store/memory.ts";
import { systemClock } from "../shared/clock.ts";
import { configFromObject } from "../shared/config.ts";
import { silentLogger } from "../shared/log.ts";
import { startCloudflareStandin } from "../standins/cloudflare.ts";
import { startDesecStandin } from "../standins/desec.ts";

const ZONE = "example.com";
const PROBES = ["p1", "p2", "p3"];

async function once(services: number, round: number): Promise<{ ms: number; cf: number; desec: number }> {
  const cf = await startCloudflareStandin({ tokens: ["cf"], zones: [{ name: ZONE }] });
  const desec = await startDesecStandin({ tokens: ["ds"], domains: [{ name: ZONE }] });
  const config = configFromObject({
    zone: ZONE,
    providers: {
      cloudflare: { tokenEnv: "CF", apiBase: cf.apiBase },
      desec: { tokenEnv: "DS", apiBase: desec.apiBase },
    },
    services: Array.from({ length: services }, (_, i) => ({
      name: `s${i}`,
      router: `s${i}-router`,
      desec: { ttl: 3600 },
      primary: { target: `s${i}-a.example.net.`, check: { url: `https://s${i}-a.example.net/` } },
      secondary: { target: `s${i}-b.example.net.`, check: { url: `https://s${i}-b.example.net/` } },
      failAfter: 1,
    })),
    probes: { members: PROBES.map((id) => ({ id, provider: id, secretEnv: "S" })) },
  });
  const env: Record<string, string> = { CF: "cf", DS: "ds" };
  const clock = systemClock();
  const providers = createProviders(config, { env: (n) => env[n], fetch, clock });
  let decidedAt = 0;
  const done = new Map<string, number>();
  const coordinator = await Coordinator.open({
    config,
    store: new MemoryStore(),
    clock,
    log: silentLogger,
    providers,
    onEvents: (events) => {
      for (const e of events) {
        if (e.type === "failover" && decidedAt === 0) decidedAt = performance.now();
        if (e.type === "dns.switched" && decidedAt > 0 && e.provider) done.set(e.provider, performance.now());
      }
    },
  });
  const wait = async (test: () => boolean) => {
    while (!test()) await new Promise((resolve) => setTimeout(resolve, 1));
  };
  await wait(() => coordinator.reconciler.states().every((r) => r.state === "in-sync"));
  cf.standin.requests.reset();
  desec.standin.requests.reset();
  const at = new Date().toISOString();
  for (const probe of PROBES) {
    const results = config.services.flatMap((s) => [
      { service: s.name, endpoint: "primary" as const, ok: false, checkedAt: at },
      { service: s.name, endpoint: "secondary" as const, ok: true, checkedAt: at },
    ]);
    await coordinator.acceptReport({ id: `${probe}-${round}`, probe, sentAt: at, healthy: true, results });
  }
  await wait(() => done.size === 2 && coordinator.reconciler.states().every((r) => r.state === "in-sync"));
  const ms = Math.max(...done.values()) - decidedAt;
  const counts = { cf: cf.standin.requests.total(), desec: desec.standin.requests.total() };
  coordinator.stop();
  await coordinator.reconciler.idle();
  await Promise.all([cf.close(), desec.close()]);
  return { ms, ...counts };
}

for (const services of [1, 200]) {
  const runs = [];
  for (let i = 0; i < 15; i++) runs.push(await once(services, i));
  const ms = runs.map((r) => r.ms).sort((a, b) => a - b);
  const q = (p: number) => (ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] ?? 0).toFixed(1);
  console.log(
    `${services} service(s): decision -> both stand-ins switched: median ${q(0.5)} ms, p90 ${q(0.9)} ms, max ${q(1)} ms over ${runs.length} runs; API calls per failover: Cloudflare ${runs[0]?.cf}, deSEC ${runs[0]?.desec}`,
  );
}
