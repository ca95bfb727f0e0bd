/**
 * The 18-Nov pattern on a manual clock: a primary good for `goodMs`, bad for `badMs`, repeating for
 * `flapMs`, then good for `stableMs`; the secondary always good. Three probes report every interval
 * into the real Coordinator. Measures the switches and how long the live path was a failing origin.
 */
import type { AuditEvent } from "../../coordinator/store/store.ts";
import { ManualClock } from "../../shared/clock.ts";
import { configFromObject } from "../../shared/config.ts";
import { configObject, testCoordinator } from "../helpers.ts";

/** The pattern and the service settings of one run. */
export interface FlapOptions {
  holdDown: string;
  failAfter?: number;
  recoverAfter?: number;
  intervalMs?: number;
  goodMs?: number;
  badMs?: number;
  flapMs?: number;
  stableMs?: number;
}

/** What one run measured. */
export interface FlapRun {
  failovers: AuditEvent[];
  failbacks: AuditEvent[];
  held: AuditEvent[];
  /** Time the decided live path pointed at a failing origin, during the flapping. */
  liveDownMs: number;
  /** The same, counted over the whole run (flapping and the stable tail). */
  liveDownTotalMs: number;
  /** Time on the secondary (the decided live path) while the primary was good, over the whole run. */
  onSecondaryWhilePrimaryGoodMs: number;
  /** When the primary turned good for good, relative to the start. */
  stableFromMs: number;
  /** Offsets of every failover/failback from the start, in order. */
  switchesAtMs: { type: string; atMs: number }[];
  dnsWrites: number;
  active: "primary" | "secondary";
}

/** Runs the pattern through a real Coordinator (memory store, memory DNS) on a ManualClock. */
export async function runFlappingPrimary(options: FlapOptions): Promise<FlapRun> {
  const intervalMs = options.intervalMs ?? 10_000;
  const goodMs = options.goodMs ?? 300_000;
  const badMs = options.badMs ?? 300_000;
  const flapMs = options.flapMs ?? 3_600_000;
  const stableMs = options.stableMs ?? 900_000;
  const config = configFromObject(
    configObject({
      service: {
        holdDown: options.holdDown,
        failAfter: options.failAfter ?? 3,
        recoverAfter: options.recoverAfter ?? 6,
      },
      probesExtra: { interval: `${intervalMs}ms` },
    }),
  );
  const mesh = await testCoordinator({ config, clock: new ManualClock() });
  const start = mesh.clock.now();
  const primaryGood = (offset: number) => offset >= flapMs || offset % (goodMs + badMs) < goodMs;
  let liveDownMs = 0;
  let liveDownTotalMs = 0;
  let onSecondaryWhilePrimaryGoodMs = 0;
  for (let offset = 0; offset < flapMs + stableMs; offset = mesh.clock.now() - start) {
    const good = primaryGood(offset);
    for (const probe of ["p1", "p2", "p3"]) await mesh.report(probe, { primary: good, secondary: true });
    await mesh.coordinator.reconciler.idle();
    // The decision after this step's reports holds until the next step: the origins do not change in between.
    const active = mesh.coordinator.service("web").active;
    if (active === "primary" && !good) {
      liveDownTotalMs += intervalMs;
      if (offset < flapMs) liveDownMs += intervalMs;
    }
    if (active === "secondary" && good) onSecondaryWhilePrimaryGoodMs += intervalMs;
    await mesh.clock.advance(intervalMs);
  }
  mesh.coordinator.stop();
  const of = (type: string) => mesh.events.filter((e) => e.type === type);
  return {
    failovers: of("failover"),
    failbacks: of("failback"),
    held: of("flap.held"),
    liveDownMs,
    liveDownTotalMs,
    onSecondaryWhilePrimaryGoodMs,
    stableFromMs: flapMs,
    switchesAtMs: mesh.events
      .filter((e) => e.type === "failover" || e.type === "failback")
      .map((e) => ({ type: e.type, atMs: Date.parse(e.at) - start })),
    dnsWrites: mesh.dns.calls.write,
    active: mesh.coordinator.service("web").active,
  };
}

/** One line for logs and notes. */
export function describeRun(label: string, run: FlapRun): string {
  const min = (ms: number) => `${(ms / 60_000).toFixed(2)} min`;
  const switches = run.switchesAtMs.map((s) => `${s.type}@${(s.atMs / 1000).toFixed(0)}s`).join(" ");
  return `${label}: ${run.failovers.length} failover(s), ${run.failbacks.length} failback(s), ${run.held.length} flap.held; live path down ${min(run.liveDownMs)} while flapping (${min(run.liveDownTotalMs)} in all); on the secondary while the primary was good ${min(run.onSecondaryWhilePrimaryGoodMs)}; ${run.dnsWrites} DNS writes; switches: ${switches}`;
}
