/**
 * Issue 14: API requests per router switch at 100, 1,000 and 10,000 routers on the deSEC and Cloudflare
 * stand-ins (deSEC's throttles on; the client's default page sizes: deSEC 500, Cloudflare 5000), for a
 * switch of 1 router and of 100, with HEAD's reads that follow what changed beside the full-read
 * strategy of before (every round lists the zone, and lists it again to verify the write), both in the
 * same run. Also deSEC's drift period and the reads a day its drift checks cost at that size.
 * Run: `npm run bench -- dns-reads`, or alone: `npx tsx bench/dns-reads.ts`.
 */
import type { DnsProvider } from "../coordinator/dns/provider.ts";
import { type BigZone, type Sent, startBigZone } from "../test/dns/big-zone.ts";
import type { Row } from "./table.ts";

/** The strategy before issue 14: every read lists the whole zone, and the write's answer is not used (read back). */
function fullReads(inner: DnsProvider, routers: () => string[]): DnsProvider {
  return {
    name: inner.name,
    get driftCheckMs() {
      return inner.driftCheckMs ?? 60_000;
    },
    async readRouters(names, options) {
      const seen = await inner.readRouters(routers(), options);
      return new Map(names.map((n) => [n, seen.get(n) ?? null]));
    },
    async writeRouters(changes, options) {
      await inner.writeRouters(changes, options);
    },
  };
}

type Count = { get: number; write: number };

function count(sent: readonly Sent[], provider: Sent["provider"]): Count {
  const mine = sent.filter((s) => s.provider === provider);
  const get = mine.filter((s) => s.method === "GET").length;
  return { get, write: mine.length - get };
}

/** Requests per provider for switching `switched` of `routers` routers, after a first full sync. */
async function measure(routers: number, switched: number, before: boolean) {
  const zone: BigZone = await startBigZone({
    routers,
    cfPerPage: 0,
    // Cloudflare's drift checks (the reconciler's period) kept out of the measured switch.
    driftCheckMs: 3_600_000,
    ...(before ? { wrap: fullReads } : {}),
  });
  try {
    zone.reconciler.setDesired(zone.desired);
    await zone.drive();
    await zone.clock.advance(60_000); // a fresh minute of deSEC's read budget
    await zone.drive();
    const from = zone.sent.length;
    const step = Math.max(1, Math.floor(routers / switched));
    const moved = new Set(Array.from({ length: switched }, (_, i) => i * step));
    zone.reconciler.setDesired(
      zone.desired.map((d, i) => (moved.has(i) ? { ...d, target: `b-${i}.example.net.` } : d)),
    );
    await zone.drive();
    const done = zone.reconciler
      .states()
      .filter((r) => r.target?.startsWith("b-") && r.state === "in-sync").length;
    if (done !== 2 * switched) throw new Error(`Only ${done} of ${2 * switched} router rows switched`);
    const sent = zone.sent.slice(from);
    if (sent.some((s) => s.status === 429)) throw new Error("A stand-in answered 429 during the switch");
    return {
      desec: count(sent, "desec"),
      cloudflare: count(sent, "cloudflare"),
      pages: zone.desecClient.listingPages ?? 0,
      driftMs: zone.desecClient.driftCheckMs,
    };
  } finally {
    await zone.close();
  }
}

const text = (c: Count) => `${c.get + c.write} (${c.get} GET, ${c.write} write)`;
const ratio = (before: Count, after: Count) =>
  `${((before.get + before.write) / (after.get + after.write)).toFixed(1)}×`;

/** Runs the benchmark; one row per size and switch size. */
export async function dnsReads(sizes: readonly number[] = [100, 1000, 10_000]): Promise<Row[]> {
  const rows: Row[] = [];
  for (const routers of sizes) {
    for (const switched of [1, 100]) {
      const after = await measure(routers, switched, false);
      const before = await measure(routers, switched, true);
      const drift = after.driftMs / 60_000;
      rows.push({
        bench: "14 DNS reads per switch",
        case: `${routers} routers, ${switched} switched`,
        figure: `deSEC ${text(after.desec)}; Cloudflare ${text(after.cloudflare)}`,
        baseline: `full reads: deSEC ${text(before.desec)}; Cloudflare ${text(before.cloudflare)}`,
        ratio: `deSEC ${ratio(before.desec, after.desec)}, Cloudflare ${ratio(before.cloudflare, after.cloudflare)} fewer`,
        note: `deSEC zone ${after.pages} page(s); drift check every ${drift.toFixed(1)} min = ${Math.round((after.pages * 1440) / drift)} reads/day`,
      });
    }
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const row of await dnsReads()) {
    console.log(`${row.case}: ${row.figure} | ${row.baseline} | ${row.ratio} | ${row.note}`);
  }
}
