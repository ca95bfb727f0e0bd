/**
 * Benchmark 4: API calls per provider and wall time to switch N routers at once against the Cloudflare
 * and deSEC stand-ins with their documented rate limits on (deSEC: writes 2/s 15/min, reads 10/s 50/min;
 * Cloudflare: 1200 per 5 min, batches of 200). Floor for calls: the reads of the switched routers (one
 * filtered read per router, or the list pages when there are fewer pages than routers), and the fewest
 * write requests the API allows (deSEC one bulk PATCH, Cloudflare one batch per 200), whose answer
 * verifies the switch (issue 14).
 */
import { Coordinator } from "../coordinator/coordinator.ts";
import { createProviders } from "../coordinator/dns/factory.ts";
import type { DnsProvider } from "../coordinator/dns/provider.ts";
import { MemoryStore } from "../coordinator/store/memory.ts";
import type { AuditEvent } from "../coordinator/store/store.ts";
import { systemClock } from "../shared/clock.ts";
import { configFromObject } from "../shared/config.ts";
import { silentLogger } from "../shared/log.ts";
import { startCloudflareStandin } from "../standins/cloudflare.ts";
import { startDesecStandin } from "../standins/desec.ts";
import { ms, type Row } from "./table.ts";

const ZONE = "example.com";

async function until(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return true;
}

/** Switches `routers` routers at once; returns calls per provider and the time from decision to both switched. */
async function switchAll(routers: number) {
  const clock = systemClock();
  const cf = await startCloudflareStandin({ tokens: ["cf"], zones: [{ name: ZONE }], clock });
  const desec = await startDesecStandin({
    tokens: ["ds"],
    domains: [{ name: ZONE, minimumTtl: 3600 }],
    clock,
  });
  const config = configFromObject({
    zone: ZONE,
    providers: {
      cloudflare: { tokenEnv: "CF", apiBase: cf.apiBase, maxBackoff: "2s" },
      desec: { tokenEnv: "DS", apiBase: desec.apiBase, maxBackoff: "2s" },
    },
    services: Array.from({ length: routers }, (_, i) => ({
      name: `s${i}`,
      router: `s${i}-router`,
      desec: { ttl: 3600 },
      primary: { target: `s${i}-a.example.net.`, check: { url: `https://s${i}-a.example.net/` } },
      secondary: { target: `s${i}-b.example.net.`, check: { url: `https://s${i}-b.example.net/` } },
      failAfter: 1,
      holdDown: "0s",
    })),
    probes: {
      interval: "10s",
      members: ["p1", "p2", "p3"].map((id) => ({ id, provider: id, secretEnv: "S" })),
    },
  });
  const env: Record<string, string> = { CF: "cf", DS: "ds" };
  const spans: { provider: string; op: string; ms: number }[] = [];
  const providers = createProviders(config, { env: (name) => env[name], fetch, clock }).map((p) =>
    timed(p, spans),
  );
  let decidedAt = 0;
  const onEvents = (events: AuditEvent[]) => {
    if (!decidedAt && events.some((e) => e.type === "failover")) decidedAt = performance.now();
  };
  const store = new MemoryStore();
  const coordinator = await Coordinator.open({
    config,
    store,
    clock,
    log: silentLogger,
    providers,
    onEvents,
  });
  const cfRecords = () => [...cf.standin.records(ZONE).values()];
  const desecRrsets = () => [...desec.standin.rrsets(ZONE).values()];
  const created = await until(
    () => cfRecords().length === routers && desecRrsets().length === routers,
    60_000,
  );
  if (!created) throw new Error(`Cannot create ${routers} routers on the stand-ins within 60 s`);
  await coordinator.reconciler.idle();
  cf.standin.requests.reset();
  desec.standin.requests.reset();
  spans.length = 0;

  const at = new Date().toISOString();
  const results = config.services.flatMap((svc) => [
    { service: svc.name, endpoint: "primary" as const, ok: false, checkedAt: at },
    { service: svc.name, endpoint: "secondary" as const, ok: true, checkedAt: at },
  ]);
  for (const probe of ["p1", "p2"]) {
    await coordinator.acceptReport({ id: `r-${probe}`, probe, sentAt: at, healthy: true, results });
  }
  const switched = (content: string) => content.includes("-b.example.net");
  const ok = await until(
    () =>
      cfRecords().filter((r) => switched(r.content)).length === routers &&
      desecRrsets().filter((r) => switched(r.records[0] ?? "")).length === routers,
    120_000,
  );
  const wall = performance.now() - decidedAt;
  await coordinator.reconciler.idle();
  const counts = { cf: { ...countOf(cf.standin.requests) }, desec: { ...countOf(desec.standin.requests) } };
  coordinator.stop();
  await Promise.all([cf.close(), desec.close()]);
  return { ok, wall, counts, spans: [...spans] };
}

/** A provider whose calls are timed into `spans` (where a mass switch spends its time). */
function timed(provider: DnsProvider, spans: { provider: string; op: string; ms: number }[]): DnsProvider {
  const time = async <T>(op: string, fn: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await fn();
    } finally {
      spans.push({ provider: provider.name, op, ms: performance.now() - start });
    }
  };
  return {
    name: provider.name,
    readRouters: (names) => time("read", () => provider.readRouters(names)),
    writeRouters: (changes) => time("write", () => provider.writeRouters(changes)),
  };
}

function spanText(spans: readonly { provider: string; op: string; ms: number }[]): string {
  return spans.map((s) => `${s.provider === "cloudflare" ? "CF" : "deSEC"} ${s.op} ${ms(s.ms)}`).join(", ");
}

function countOf(requests: { get(method: string): number; total(): number }) {
  return {
    reads: requests.get("GET"),
    writes: requests.total() - requests.get("GET"),
    total: requests.total(),
  };
}

/** Runs benchmark 4. */
export async function massFailover(sizes: readonly number[] = [1, 50, 200, 1000]): Promise<Row[]> {
  const rows: Row[] = [];
  let single = 0;
  for (const routers of sizes) {
    const run = await switchAll(routers);
    if (routers === sizes[0]) single = run.wall;
    const cfFloor = Math.min(routers, Math.ceil(routers / 5000)) + Math.ceil(routers / 200);
    const desecFloor = Math.min(routers, Math.ceil((routers + 1) / 500)) + 1; // + deSEC's apex NS RRset
    const { cf, desec } = run.counts;
    rows.push({
      bench: "4 mass failover",
      case: `${routers} router${routers === 1 ? "" : "s"}`,
      figure: `${ms(run.wall)}${run.ok ? "" : " (NOT all switched)"}; Cloudflare ${cf.total} calls (${cf.reads} GET, ${cf.writes} write), deSEC ${desec.total} (${desec.reads} GET, ${desec.writes} write)`,
      baseline: `${ms(single)} (1 router); floor ${cfFloor} + ${desecFloor} calls`,
      ratio: `time ${(run.wall / single).toFixed(1)}×, calls ${((cf.total + desec.total) / (cfFloor + desecFloor)).toFixed(2)}×`,
      note: spanText(run.spans),
    });
  }
  return rows;
}
