/**
 * Benchmark 1: detection-to-switch — from the primary failing to both DNS providers serving the
 * secondary — against the floor failAfter × interval, with fast confirmation (the default
 * `probes.confirmInterval`, interval / 4) and without it (`0s`). Real: a coordinator process, three
 * push-probe processes, loopback origins and the Cloudflare/deSEC stand-ins. Simulated: the same
 * coordinator and PushProbe code on a ManualClock (in-memory store and DNS), with random probe phases.
 */

import { startOrigin } from "../demo/origins.ts";
import {
  type Events,
  meshEnv,
  meshYaml,
  PRIMARY,
  SECONDARY,
  type Status,
  secretOf,
  startStandins,
} from "../test/chaos/mesh.ts";
import { api, Cleanup, sleep, startCoordinator, startProbe, until } from "../test/chaos/processes.ts";
import { simMesh } from "./sim-mesh.ts";
import { median, ms, type Row } from "./table.ts";

const FAIL_AFTER = 3;
const PROBES = ["p1", "p2", "p3"];

/** Real processes on loopback: `trials` failures of the primary at a random phase. */
async function real(
  intervalMs: number,
  trials: number,
  confirm: boolean,
): Promise<{ times: number[]; decisions: number[] }> {
  const cleanup = new Cleanup();
  try {
    const primary = await startOrigin("cf-front");
    const secondary = await startOrigin("cdn2-front");
    cleanup.add(() => Promise.all([primary.close(), secondary.close()]));
    const dns = await startStandins(cleanup);
    const yaml = withConfirm(
      meshYaml({
        probes: PROBES,
        primaryUrl: primary.url,
        secondaryUrl: secondary.url,
        interval: `${intervalMs}ms`,
        failAfter: FAIL_AFTER,
        recoverAfter: 1,
        cloudflare: dns.cf.apiBase,
        desec: dns.desec.apiBase,
      }),
      confirm,
    );
    const coordinator = await startCoordinator(yaml, meshEnv(PROBES), cleanup);
    for (const id of PROBES) startProbe(id, secretOf(id), coordinator.base, cleanup);
    const both = (target: string) =>
      dns.cfTarget() === target && dns.desecTarget() === target ? true : undefined;
    const timeoutMs = (FAIL_AFTER + 4) * intervalMs + 10_000;
    await until(
      "every probe reporting",
      async () => {
        const status = await api<Status>(coordinator.base, "/v1/status");
        return status?.probes.every((p) => p.lastSeen !== null) ? true : undefined;
      },
      { timeoutMs },
    );
    const times: number[] = [];
    const decisions: number[] = [];
    for (let trial = 0; trial < trials; trial++) {
      await until("both providers on the primary", () => both(PRIMARY), { timeoutMs });
      await sleep(intervalMs * (1 + Math.random())); // a fresh random phase against the probes' rounds
      const downAt = performance.now();
      const downWall = Date.now();
      primary.up = false;
      await until("both providers on the secondary", () => both(SECONDARY), { timeoutMs: timeoutMs * 2 });
      times.push(performance.now() - downAt);
      const events = await api<Events>(coordinator.base, "/v1/events");
      const failover = events?.events.filter((e) => e.type === "failover").at(-1);
      if (failover) decisions.push(Date.parse(failover.at) - downWall);
      primary.up = true;
    }
    if (process.env.BENCH_VERBOSE)
      console.error(`detection ${intervalMs} ms: times ${times.map(Math.round)}, decisions ${decisions}`);
    return { times, decisions };
  } finally {
    await cleanup.run();
  }
}

/** `probes.confirmInterval: 0s` turns fast confirmation off; without the key the default applies. */
function withConfirm(yaml: string, confirm: boolean): string {
  return confirm ? yaml : yaml.replace(/^probes:\n/m, "probes:\n  confirmInterval: 0s\n");
}

/** The same coordinator and probe code on a ManualClock, each trial with fresh random probe phases. */
async function simulated(
  intervalMs: number,
  trials: number,
  confirm: boolean,
  pull: string[] = [],
): Promise<number[]> {
  const times: number[] = [];
  for (let trial = 0; trial < trials; trial++) {
    let primaryUp = true;
    const mesh = await simMesh(
      {
        probes: PROBES,
        pull,
        intervalMs,
        failAfter: FAIL_AFTER,
        recoverAfter: 1,
        holdDown: "0s",
        ...(confirm ? {} : { confirmInterval: "0s" }),
        primary: () => ({ status: primaryUp ? 200 : 503, latencyMs: 20 }),
      },
      Math.random,
    );
    await mesh.runUntil(mesh.clock.now() + (2 + Math.random()) * intervalMs);
    if (!mesh.on(PRIMARY)) throw new Error("Simulated mesh never settled on the primary");
    const downAt = mesh.clock.now();
    primaryUp = false;
    await mesh.runUntil(downAt + 10 * FAIL_AFTER * intervalMs, () => mesh.on(SECONDARY));
    times.push(mesh.clock.now() - downAt);
    mesh.close();
  }
  return times;
}

function row(kind: string, intervalMs: number, times: number[], decisions?: number[]): Row {
  const floor = FAIL_AFTER * intervalMs;
  const mid = median(times);
  return {
    bench: "1 detection-to-switch",
    case: `interval ${intervalMs / 1000} s, ${kind}`,
    figure: `median ${ms(mid)} (min ${ms(Math.min(...times))}, max ${ms(Math.max(...times))}, n=${times.length})`,
    baseline: `${ms(floor)} (failAfter ${FAIL_AFTER} × interval)`,
    ratio: `${(mid / floor).toFixed(2)} (max ${(Math.max(...times) / floor).toFixed(2)})`,
    ...(decisions && decisions.length > 0
      ? {
          note: `decision after median ${ms(median(decisions))}, DNS on both ${ms(mid - median(decisions))} later`,
        }
      : {}),
  };
}

/** Runs benchmark 1: real processes for every interval in `realIntervals`, simulation for 1, 5 and 10 s; each with and without fast confirmation. */
export async function detection(
  options: { realIntervals?: number[]; realTrials?: number; simTrials?: number } = {},
): Promise<Row[]> {
  const rows: Row[] = [];
  for (const intervalMs of options.realIntervals ?? [1000, 5000, 10_000]) {
    const trials = intervalMs <= 1000 ? (options.realTrials ?? 5) : 1;
    for (const confirm of [false, true]) {
      const run = await real(intervalMs, trials, confirm);
      rows.push(row(`real processes, ${mode(confirm)}`, intervalMs, run.times, run.decisions));
    }
  }
  for (const intervalMs of (options.simTrials ?? 30) > 0 ? [1000, 5000, 10_000] : []) {
    for (const pull of [[], ["p1"]]) {
      const probes = pull.length > 0 ? "1 pull + 2 push probes" : "3 push probes";
      for (const confirm of [false, true]) {
        const times = await simulated(intervalMs, options.simTrials ?? 30, confirm, pull);
        rows.push(row(`simulated (ManualClock), ${probes}, ${mode(confirm)}`, intervalMs, times));
      }
    }
  }
  return rows;
}

function mode(confirm: boolean): string {
  return confirm ? "fast confirmation (interval / 4)" : "no fast confirmation";
}
