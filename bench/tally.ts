/**
 * Incremental tallies at size: the real Coordinator on a MemoryStore and a ManualClock, at 100 × 5,
 * 1,000 × 9 and 10,000 × 12, with every probe reporting every service each 10 s interval in parts of
 * 1,000 results. Each figure stands beside the from-scratch work the rules call for, measured in the
 * same run: every vote counted afresh (`effectiveVote` over a track map, `verdictOf`) and every
 * service planned (`planService`), which is what a report and a tick did before the tallies.
 */
import { Coordinator } from "../coordinator/coordinator.ts";
import { MemoryDnsProvider } from "../coordinator/dns/memory.ts";
import { initialState } from "../coordinator/engine.ts";
import { planService } from "../coordinator/round.ts";
import { MemoryStore } from "../coordinator/store/memory.ts";
import type { AuditEvent, Commit, CommitOutcome } from "../coordinator/store/store.ts";
import { ManualClock } from "../shared/clock.ts";
import type { Config } from "../shared/config-schema.ts";
import { silentLogger } from "../shared/log.ts";
import type { CheckResult, Endpoint, Report } from "../shared/protocol.ts";
import { type EndpointTrack, effectiveVote, verdictOf } from "../shared/quorum.ts";
import { benchMeshConfig } from "./mesh-config.ts";
import { median, ms, type Row } from "./table.ts";

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {}); // present under --expose-gc (npm run bench)
const INTERVAL = 10_000;
const PART = 1000;

/** The from-scratch round by the pure rules: every vote of every service counted, every service planned. */
function scratchRound(
  config: Config,
  tracks: Map<string, EndpointTrack>,
  now: number,
  only?: number,
): number {
  const seen = { lastSeen: now, healthy: true };
  const options = { now, intervalMs: INTERVAL };
  let switches = 0;
  const services = only === undefined ? config.services : config.services.slice(0, only);
  for (const svc of services) {
    const count = (endpoint: Endpoint) =>
      config.probes.members.map((m) => ({
        probe: m.id,
        provider: m.provider,
        vote: effectiveVote(tracks.get(`${m.id}|${svc.name}|${endpoint}`), seen, options),
      }));
    const verdicts = {
      primary: verdictOf(count("primary"), config.probes.quorum),
      secondary: verdictOf(count("secondary"), config.probes.quorum),
    };
    if (planService(svc, initialState(svc.name), verdicts, now).switchTo) switches++;
  }
  return switches;
}

/** A memory store that keeps no track rows, as SQLite keeps them on disk: the heap figure is the coordinator's own. */
class TracklessStore extends MemoryStore {
  override commit(change: Commit): Promise<AuditEvent[]> {
    return super.commit({ ...change, tracks: [] });
  }
  override commitMany(changes: Commit[]): Promise<CommitOutcome[]> {
    return super.commitMany(changes.map((change) => ({ ...change, tracks: [] })));
  }
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function size(services: number, probes: number, intervals: number): Promise<Row[]> {
  const config = benchMeshConfig(services, probes);
  const clock = new ManualClock();
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  /** When the failover of svc0 was stored (the coordinator notifies listeners right after the commit). */
  let failoverStoredAt = 0;
  const coordinator = await Coordinator.open({
    onEvents: (events) => {
      if (events.some((e) => e.type === "failover" && e.service === "svc0"))
        failoverStoredAt = performance.now();
    },
    config,
    store: new TracklessStore(),
    clock,
    log: silentLogger,
    providers: [new MemoryDnsProvider("memory")],
  });
  await coordinator.reconciler.idle();
  let seq = 0;
  /** One probe's round: all services, both paths, in parts of PART results (one `sentAt`). */
  const round = (probe: string, ok: (svc: number, endpoint: Endpoint) => boolean): Report[] => {
    const at = new Date(clock.now()).toISOString();
    const results: CheckResult[] = [];
    for (let i = 0; i < services; i++)
      for (const endpoint of ["primary", "secondary"] as const)
        results.push({ service: `svc${i}`, endpoint, ok: ok(i, endpoint), checkedAt: at, latencyMs: 20 });
    const parts: Report[] = [];
    for (let i = 0; i < results.length; i += PART)
      parts.push({ id: `r${seq++}`, probe, sentAt: at, healthy: true, results: results.slice(i, i + PART) });
    return parts;
  };
  const partTimes: number[] = [];
  const tickTimes: number[] = [];
  /** One interval: every probe sends its round, then time moves one interval and the tick runs. */
  const interval = async (measure: boolean) => {
    for (const member of config.probes.members) {
      for (const part of round(member.id, () => true)) {
        const t0 = performance.now();
        await coordinator.acceptReport(part);
        if (measure) partTimes.push(performance.now() - t0);
      }
    }
    await clock.advance(INTERVAL);
    const t0 = performance.now();
    await coordinator.evaluate();
    if (measure) tickTimes.push(performance.now() - t0);
  };
  // Warm up until every vote stands `up` (recoverAfter rounds) and the stored rows settle.
  for (let i = 0; i < 8; i++) await interval(false);
  gc();
  const tracks = services * probes * 2;
  const heldPerTrack = (process.memoryUsage().heapUsed - heap0) / tracks;
  const cpu0 = cpuMs();
  for (let i = 0; i < intervals; i++) await interval(true);
  const cpuPerInterval = (cpuMs() - cpu0) / intervals;

  // The tipping report: svc0's primary fails at every probe; the last report that makes it DOWN is timed.
  const fail = async (probe: string) =>
    coordinator.acceptReport({
      id: `t${seq++}`,
      probe,
      sentAt: new Date(clock.now()).toISOString(),
      healthy: true,
      results: [
        { service: "svc0", endpoint: "primary", ok: false, checkedAt: new Date(clock.now()).toISOString() },
      ],
    });
  const failAfter = config.services[0]?.failAfter ?? 3;
  const majority = Math.floor(probes / 2) + 1;
  let nonTipping = 0;
  let tipping = 0;
  let tippingStored = 0;
  for (let r = 0; r < failAfter; r++) {
    for (let p = 0; p < majority; p++) {
      const t0 = performance.now();
      await fail(`p${p}`);
      const took = performance.now() - t0;
      if (r === failAfter - 1 && p === majority - 1) {
        tipping = took;
        tippingStored = failoverStoredAt - t0;
      } else nonTipping = took;
    }
    await clock.advance(1000);
  }
  const events = await coordinator.events({ sinceMs: 0, limit: 100_000 });
  const failedOver = events.some((e) => e.type === "failover" && e.service === "svc0");

  // The from-scratch baseline in the same run, over the same votes in the old layout (a map of tracks).
  const map = new Map<string, EndpointTrack>();
  gc();
  const heap1 = process.memoryUsage().heapUsed;
  for (const svc of config.services)
    for (const member of config.probes.members)
      for (const endpoint of ["primary", "secondary"] as const) {
        const track = coordinator.track(member.id, svc.name, endpoint);
        if (track)
          map.set(`${member.id}|${svc.name}|${endpoint}`, {
            ...track,
            ...(track.last ? { last: { ...track.last } } : {}),
          });
      }
  gc();
  const mapPerTrack = (process.memoryUsage().heapUsed - heap1) / tracks;
  const now = clock.now();
  const scratchTimes: number[] = [];
  for (let i = 0; i < (services >= 10_000 ? 5 : 15); i++) {
    const t0 = performance.now();
    scratchRound(config, map, now);
    scratchTimes.push(performance.now() - t0);
  }
  const scratch = median(scratchTimes);
  const partServices = Math.min(services, PART / 2);
  const scratchPart = (scratch * partServices) / services;
  const parts = Math.ceil((services * 2) / PART);
  // Before the tallies, each part recounted and planned every service it touched, and each tick all of them.
  const scratchCpu = probes * parts * scratchPart + scratch;
  const part = median(partTimes);
  const tick = median(tickTimes);
  coordinator.stop();
  const label = `${services.toLocaleString("en")} × ${probes}`;
  const pct = (msPerInterval: number) => `${((msPerInterval / INTERVAL) * 100).toFixed(2)} %`;
  return [
    {
      bench: "14 tally: report part",
      case: `${label}, ${Math.min(PART, services * 2)} results`,
      figure: ms(part),
      baseline: `${ms(scratchPart)} (recount + plan its ${partServices} services from scratch)`,
      ratio: `${(part / scratchPart).toFixed(2)}×`,
      note: `${((part * 1e6) / Math.min(PART, services * 2)).toFixed(0)} ns per result, fold and store included`,
    },
    {
      bench: "14 tally: tick",
      case: label,
      figure: ms(tick),
      baseline: `${ms(scratch)} (full round from scratch)`,
      ratio: `1/${Math.round(scratch / tick).toLocaleString("en")}`,
      note: `${((scratch * 1e6) / tracks).toFixed(0)} ns per vote from scratch`,
    },
    {
      bench: "14 tally: CPU per 10 s interval",
      case: `${label}, ${probes} probes × ${parts} part(s)`,
      figure: pct(cpuPerInterval),
      baseline: `${pct(scratchCpu)} (recount work alone, from scratch)`,
      ratio: `${(cpuPerInterval / scratchCpu).toFixed(2)}×`,
      note: `${ms(cpuPerInterval)} CPU per interval over ${intervals} intervals`,
    },
    {
      bench: "14 tally: tipping report → decision stored",
      case: label,
      figure: ms(tippingStored),
      baseline: `${ms(nonTipping)} (same report, not tipping)`,
      ratio: `${(tippingStored / Math.max(nonTipping, 1e-6)).toFixed(1)}×`,
      note: failedOver
        ? `failover event stored; the report is answered after ${ms(tipping)} (after the switched router is handed to the DNS reconciler)`
        : "NO failover event (check the bench)",
    },
    {
      bench: "14 tally: heap held per track",
      case: label,
      figure: `${heldPerTrack.toFixed(0)} B`,
      baseline: `${mapPerTrack.toFixed(0)} B (a Map of track objects by key string)`,
      ratio: `${(heldPerTrack / mapPerTrack).toFixed(2)}×`,
      note: `${((heldPerTrack * tracks) / 1048576).toFixed(1)} MiB for ${tracks.toLocaleString("en")} tracks (the coordinator's heap growth, the store's rows aside)`,
    },
  ];
}

/** Runs the tally benchmark at the three sizes. */
export async function tally(options: { quick?: boolean } = {}): Promise<Row[]> {
  const rows: Row[] = [];
  const sizes = options.quick
    ? ([
        [100, 5],
        [1000, 9],
      ] as const)
    : ([
        [100, 5],
        [1000, 9],
        [10_000, 12],
      ] as const);
  for (const [services, probes] of sizes) rows.push(...(await size(services, probes, options.quick ? 3 : 6)));
  return rows;
}
