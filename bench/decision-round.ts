/**
 * Benchmark 3: time and memory of one decision round (`coordinator.evaluate()`) for services × probes,
 * against a floor measured in the same run: one Map lookup and one count per (service, endpoint, probe),
 * the least work any round must do. Also times one probe's report of N results (`acceptReport`).
 */
import { Coordinator } from "../coordinator/coordinator.ts";
import { MemoryDnsProvider } from "../coordinator/dns/memory.ts";
import { MemoryStore } from "../coordinator/store/memory.ts";
import type { TrackRow } from "../coordinator/store/store.ts";
import { ManualClock } from "../shared/clock.ts";
import { silentLogger } from "../shared/log.ts";
import { benchMeshConfig } from "./mesh-config.ts";
import { median, ms, type Row } from "./table.ts";

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {}); // present under --expose-gc (npm run bench)

/** A coordinator whose every probe has a standing `up` vote on every endpoint of every service. */
async function loaded(services: number, probes: number) {
  const config = benchMeshConfig(services, probes);
  const clock = new ManualClock();
  const store = new MemoryStore();
  const tracks: TrackRow[] = [];
  for (const svc of config.services) {
    for (const member of config.probes.members) {
      for (const endpoint of ["primary", "secondary"] as const) {
        tracks.push({
          probe: member.id,
          service: svc.name,
          endpoint,
          track: { fails: 0, oks: 6, vote: "up", seenAt: clock.now() },
        });
      }
    }
  }
  const probeRows = config.probes.members.map((m) => ({
    id: m.id,
    lastSeen: clock.now(),
    healthy: true,
    silent: false,
  }));
  await store.commit({ tracks, probes: probeRows });
  const dns = new MemoryDnsProvider("memory");
  const coordinator = await Coordinator.open({ config, store, clock, log: silentLogger, providers: [dns] });
  await coordinator.reconciler.idle();
  return { coordinator, config, tracks };
}

/** The floor: read every vote once from a pre-built array and count the down votes; no keys, no objects. */
function floorRound(votes: readonly (readonly string[])[]): number {
  let down = 0;
  for (const row of votes) for (const vote of row) if (vote === "down") down++;
  return down;
}

async function timeIt(fn: () => unknown, repeat: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return median(times);
}

/** One size: median round time, heap allocated by one round, heap held by the state; floor in the same run. */
async function size(services: number, probes: number): Promise<Row[]> {
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const { coordinator, tracks } = await loaded(services, probes);
  gc();
  const held = process.memoryUsage().heapUsed - heapBefore;
  const repeat = services >= 10_000 ? 7 : 25;
  await coordinator.evaluate(); // warm up
  const round = await timeIt(() => coordinator.evaluate(), repeat);
  gc();
  const h0 = process.memoryUsage().heapUsed;
  await coordinator.evaluate();
  const allocated = process.memoryUsage().heapUsed - h0;
  const votes: string[][] = [];
  for (let i = 0; i < tracks.length; i += probes)
    votes.push(tracks.slice(i, i + probes).map((t) => t.track.vote ?? "none"));
  floorRound(votes);
  // 100 passes per sample: one pass over a small mesh is below the timer's resolution.
  const floor =
    (await timeIt(() => {
      for (let i = 0; i < 100; i++) floorRound(votes);
    }, repeat)) / 100;
  coordinator.stop();
  const cells = services * probes * 2;
  const label = `${services.toLocaleString("en")} × ${probes}`;
  return [
    {
      bench: "3 decision round",
      case: label,
      figure: ms(round),
      baseline: `${ms(floor)} (read-every-vote floor)`,
      ratio: `${(round / floor).toFixed(1)}×`,
      note: `${((round * 1e6) / cells).toFixed(0)} ns per vote; ${(allocated / 1048576).toFixed(1)} MiB allocated per round, ${(held / 1048576).toFixed(0)} MiB held`,
    },
  ];
}

/** Median time (ms) to fold one report of `results` results from one probe (`acceptReport`; services = results / 2). */
async function foldTime(results: number): Promise<number> {
  const { coordinator, config } = await loaded(results / 2, 3);
  const at = new Date(Date.UTC(2026, 0, 1)).toISOString();
  const checks = config.services.flatMap((svc) =>
    (["primary", "secondary"] as const).map((endpoint) => ({
      service: svc.name,
      endpoint,
      ok: true,
      checkedAt: at,
    })),
  );
  let seq = 0;
  const report = () => ({ id: `r${seq++}`, probe: "p0", sentAt: at, healthy: true, results: checks });
  await coordinator.acceptReport(report()); // warm up
  const time = await timeIt(() => coordinator.acceptReport(report()), 5);
  coordinator.stop();
  return time;
}

/** Report fold times by size; each is compared with the report half its size (2× = linear, 4× = quadratic). */
async function reportFolds(sizes: readonly number[]): Promise<Row[]> {
  const rows: Row[] = [];
  let previous: number | null = null;
  for (const results of sizes) {
    const time = await foldTime(results);
    rows.push({
      bench: "3 report fold",
      case: `1 report × ${results.toLocaleString("en")} results`,
      figure: ms(time),
      baseline: previous === null ? "—" : `${ms(previous)} (half the results)`,
      ratio: previous === null ? "—" : `${(time / previous).toFixed(1)}× per doubling`,
      note: `${((time * 1e6) / results).toFixed(0)} ns per result`,
    });
    previous = time;
  }
  return rows;
}

/** Runs benchmark 3. */
export async function decisionRounds(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const [services, probes] of [
    [100, 5],
    [1000, 9],
    [10_000, 12],
  ] as const) {
    rows.push(...(await size(services, probes)));
  }
  rows.push(...(await reportFolds([500, 1000, 2000, 4000])));
  return rows;
}
