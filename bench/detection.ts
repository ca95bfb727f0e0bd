/**
 * Benchmark 1: detection-to-switch — from the primary failing to both DNS providers serving the
 * secondary — against the floor failAfter × interval. Real: a coordinator process, three push-probe
 * processes, loopback origins and the Cloudflare/deSEC stand-ins. Simulated: the same coordinator and
 * PushProbe code on a ManualClock (in-memory store and DNS), with random probe phases.
 */

import { buildApp } from "../coordinator/app.ts";
import { Coordinator } from "../coordinator/coordinator.ts";
import { MemoryDnsProvider } from "../coordinator/dns/memory.ts";
import { MemoryStore } from "../coordinator/store/memory.ts";
import { startOrigin } from "../demo/origins.ts";
import { PushProbe } from "../probes/push.ts";
import { ManualClock } from "../shared/clock.ts";
import { configFromObject } from "../shared/config.ts";
import { silentLogger } from "../shared/log.ts";
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
import { median, ms, type Row } from "./table.ts";

const FAIL_AFTER = 3;
const PROBES = ["p1", "p2", "p3"];

/** Real processes on loopback: `trials` failures of the primary at a random phase. */
async function real(intervalMs: number, trials: number): Promise<{ times: number[]; decisions: number[] }> {
  const cleanup = new Cleanup();
  try {
    const primary = await startOrigin("cf-front");
    const secondary = await startOrigin("cdn2-front");
    cleanup.add(() => Promise.all([primary.close(), secondary.close()]));
    const dns = await startStandins(cleanup);
    const yaml = meshYaml({
      probes: PROBES,
      primaryUrl: primary.url,
      secondaryUrl: secondary.url,
      interval: `${intervalMs}ms`,
      failAfter: FAIL_AFTER,
      recoverAfter: 1,
      cloudflare: dns.cf.apiBase,
      desec: dns.desec.apiBase,
    });
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

/** The same coordinator and probe code on a ManualClock; resolution `stepMs` of simulated time. */
async function simulated(intervalMs: number, trials: number): Promise<number[]> {
  const times: number[] = [];
  const stepMs = intervalMs / 100;
  for (let trial = 0; trial < trials; trial++) {
    const clock = new ManualClock();
    const config = configFromObject({
      zone: "example.com",
      providers: { memory: {} },
      services: [
        {
          name: "web",
          router: "web-router",
          primary: { target: PRIMARY, check: { url: "http://primary.test/healthz" } },
          secondary: { target: SECONDARY, check: { url: "http://secondary.test/healthz" } },
          failAfter: FAIL_AFTER,
          recoverAfter: 1,
          holdDown: "0s",
        },
      ],
      probes: { interval: intervalMs, members: PROBES.map((id) => ({ id, provider: id, secretEnv: "S" })) },
    });
    const dns = [new MemoryDnsProvider("cloudflare"), new MemoryDnsProvider("desec")];
    const coordinator = await Coordinator.open({
      config,
      store: new MemoryStore(),
      clock,
      log: silentLogger,
      providers: dns,
    });
    coordinator.start();
    const app = buildApp({
      coordinator,
      clock,
      log: silentLogger,
      apiToken: "t",
      secretFor: (id) => secretOf(id),
    });
    let primaryUp = true;
    const world: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      if (request.url.startsWith("http://coordinator")) return app.fetch(request);
      const up = request.url.startsWith("http://primary") ? primaryUp : true;
      return new Response(up ? "ok" : "down", { status: up ? 200 : 503 });
    };
    const probes = PROBES.map(
      (id) =>
        new PushProbe({
          id,
          secret: secretOf(id),
          coordinators: ["http://coordinator"],
          fetch: world,
          clock,
          log: silentLogger,
        }),
    );
    // Simulated time stands still while a probe round is in flight: WebCrypto answers on the event loop,
    // in real time, and a loaded machine must not turn that into simulated minutes.
    let inFlight = 0;
    for (const probe of probes) {
      const round = probe.round.bind(probe);
      probe.round = async () => {
        inFlight++;
        try {
          await round();
        } finally {
          inFlight--;
        }
      };
      clock.setTimer(() => probe.start(), Math.random() * intervalMs);
    }
    const step = async () => {
      await clock.advance(stepMs);
      do await new Promise((resolve) => setImmediate(resolve));
      while (inFlight > 0);
    };
    const on = (target: string) =>
      dns.every((d) => d.records.get("web-router.example.com")?.target === target);
    const warmUntil = clock.now() + (2 + Math.random()) * intervalMs;
    while (clock.now() < warmUntil || !on(PRIMARY)) await step();
    const downAt = clock.now();
    primaryUp = false;
    while (!on(SECONDARY) && clock.now() - downAt < 10 * FAIL_AFTER * intervalMs) await step();
    times.push(clock.now() - downAt);
    for (const probe of probes) probe.stop();
    coordinator.stop();
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

/** Runs benchmark 1: real processes for every interval in `realIntervals`, simulation for 1, 5 and 10 s. */
export async function detection(
  options: { realIntervals?: number[]; realTrials?: number; simTrials?: number } = {},
): Promise<Row[]> {
  const rows: Row[] = [];
  for (const intervalMs of options.realIntervals ?? [1000, 5000, 10_000]) {
    const trials = intervalMs <= 1000 ? (options.realTrials ?? 5) : 1;
    const run = await real(intervalMs, trials);
    rows.push(row("real processes", intervalMs, run.times, run.decisions));
  }
  for (const intervalMs of (options.simTrials ?? 30) > 0 ? [1000, 5000, 10_000] : []) {
    rows.push(
      row("simulated (ManualClock)", intervalMs, await simulated(intervalMs, options.simTrials ?? 30)),
    );
  }
  return rows;
}
