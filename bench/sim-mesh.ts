/**
 * A whole mesh on a ManualClock for benchmarks: the real coordinator (in-memory store and DNS, its
 * HTTP app with signed reports) and real PushProbe code, against simulated origins whose answers a
 * benchmark decides per check. Time jumps from timer to timer, and stands still while real-time work
 * (WebCrypto signatures) is pending, so 24 simulated hours take seconds to minutes.
 */
import { buildApp } from "../coordinator/app.ts";
import { Coordinator } from "../coordinator/coordinator.ts";
import { MemoryDnsProvider } from "../coordinator/dns/memory.ts";
import { PullLoop } from "../coordinator/pull.ts";
import { MemoryStore } from "../coordinator/store/memory.ts";
import { createPullProbe, type PullProbe } from "../probes/pull.ts";
import { PushProbe } from "../probes/push.ts";
import { type Clock, ManualClock } from "../shared/clock.ts";
import { configFromObject } from "../shared/config.ts";
import { silentLogger } from "../shared/log.ts";
import { PRIMARY, SECONDARY, secretOf } from "../test/chaos/mesh.ts";
import { settle } from "../test/probes/settle.ts";

/** How an origin answers one check: a status after a latency, or nothing until the check times out. */
export type Answer = { status: number; latencyMs: number } | "hang";

/** A ManualClock that knows when its next timer falls due. */
class SteppingClock implements Clock {
  readonly manual = new ManualClock();
  readonly #due = new Set<{ at: number }>();

  now(): number {
    return this.manual.now();
  }

  setTimer(fn: () => void, ms: number): () => void {
    const timer = { at: this.manual.now() + Math.max(0, ms) };
    this.#due.add(timer);
    const cancel = this.manual.setTimer(() => {
      this.#due.delete(timer);
      fn();
    }, ms);
    return () => {
      this.#due.delete(timer);
      cancel();
    };
  }

  /** When the next timer falls due, or null. */
  nextAt(): number | null {
    let next: number | null = null;
    for (const { at } of this.#due) if (next === null || at < next) next = at;
    return next;
  }
}

/** What a simulated mesh is built from. */
export interface SimOptions {
  probes: string[];
  /** Which of `probes` run in pull mode (asked by the coordinator's pull loop); the rest push. */
  pull?: string[];
  intervalMs: number;
  failAfter: number;
  recoverAfter: number;
  holdDown: string;
  /** `probes.confirmInterval`, e.g. "0s" for off; the default (interval / 4) when absent. */
  confirmInterval?: string;
  timeout?: string;
  /** Decides each primary check; the secondary always answers 200 after 20 ms. */
  primary: () => Answer;
}

/** A running simulated mesh. */
export interface SimMesh {
  clock: SteppingClock;
  coordinator: Coordinator;
  probes: PushProbe[];
  pulls: PullLoop;
  dns: MemoryDnsProvider[];
  /** Origin checks made so far (both paths). */
  checks(): number;
  /** Whether both providers serve this target. */
  on(target: string): boolean;
  /** Runs every timer up to `untilMs` (absolute), or until `stop()` says so after a step. */
  runUntil(untilMs: number, stop?: () => boolean): Promise<void>;
  close(): void;
}

/** Builds and starts a simulated mesh; each probe starts at a random phase within one interval. */
export async function simMesh(options: SimOptions, random: () => number): Promise<SimMesh> {
  const clock = new SteppingClock();
  const config = configFromObject({
    zone: "example.com",
    providers: { memory: {} },
    services: [
      {
        name: "web",
        router: "web-router",
        primary: {
          target: PRIMARY,
          check: { url: "http://primary.test/healthz", timeout: options.timeout ?? "5s" },
        },
        secondary: { target: SECONDARY, check: { url: "http://secondary.test/healthz" } },
        failAfter: options.failAfter,
        recoverAfter: options.recoverAfter,
        holdDown: options.holdDown,
      },
    ],
    probes: {
      interval: options.intervalMs,
      ...(options.confirmInterval !== undefined ? { confirmInterval: options.confirmInterval } : {}),
      members: options.probes.map((id) => ({
        id,
        provider: id,
        secretEnv: "S",
        ...(options.pull?.includes(id) ? { mode: "pull", url: `http://${id}.probe` } : {}),
      })),
    },
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
  const toProbes = new Map<string, PullProbe>();
  const pulls = new PullLoop({
    coordinator,
    secretFor: secretOf,
    fetch: async (input, init) => {
      const request = new Request(input, init);
      const probe = toProbes.get(new URL(request.url).hostname.split(".")[0] ?? "");
      if (!probe) throw new TypeError("fetch failed");
      return probe.handle(request); // its checks take simulated time: not counted as handling
    },
    clock,
    log: silentLogger,
    ingest: (request) => handled(async () => app.fetch(request)),
  });
  const app = buildApp({
    coordinator,
    clock,
    log: silentLogger,
    apiToken: "t",
    secretFor: secretOf,
    onAccepted: (_probe, report) => pulls.noticeReport(report),
  });
  let checks = 0;
  // Requests the coordinator's app or a pull probe is handling: real-time work that needs no
  // simulated time, so time must not move while one is pending (a push would time out in simulated
  // time while it waits for the CPU, and the in-process app cannot be aborted).
  let handling = 0;
  const handled = async (work: () => Promise<Response>): Promise<Response> => {
    handling++;
    try {
      return await work();
    } finally {
      handling--;
    }
  };
  const world: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    if (request.url.startsWith("http://coordinator")) return handled(async () => app.fetch(request));
    checks++;
    const answer = request.url.startsWith("http://primary")
      ? options.primary()
      : { status: 200, latencyMs: 20 };
    await new Promise<void>((resolve, reject) => {
      const cancel = answer === "hang" ? () => {} : clock.setTimer(resolve, answer.latencyMs);
      request.signal.addEventListener("abort", () => {
        cancel();
        reject(request.signal.reason);
      });
    });
    const status = answer === "hang" ? 200 : answer.status;
    return new Response(status === 200 ? "ok" : "down", { status });
  };
  const probes = options.probes
    .filter((id) => !options.pull?.includes(id))
    .map(
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
  for (const id of options.pull ?? []) {
    const pullOptions = {
      id,
      secret: secretOf(id),
      coordinators: [],
      fetch: world,
      clock,
      log: silentLogger,
    };
    toProbes.set(id, createPullProbe(pullOptions));
  }
  for (const probe of probes) clock.setTimer(() => probe.start(), random() * options.intervalMs);
  if (toProbes.size > 0) clock.setTimer(() => pulls.start(), random() * options.intervalMs);
  const on = (target: string) => dns.every((d) => d.records.get("web-router.example.com")?.target === target);
  return {
    clock,
    coordinator,
    probes,
    dns,
    checks: () => checks,
    on,
    async runUntil(untilMs, stop) {
      for (;;) {
        await settle();
        for (let i = 0; handling > 0 && i < 10_000; i++) await settle();
        if (stop?.()) return;
        const next = clock.nextAt();
        if (next === null || next > untilMs) {
          await clock.manual.advance(Math.max(0, untilMs - clock.now()));
          await settle();
          return;
        }
        await clock.manual.advance(next - clock.now());
      }
    },
    pulls,
    close() {
      pulls.stop();
      for (const probe of probes) probe.stop();
      coordinator.stop();
    },
  };
}

/** A small seeded PRNG (mulberry32), so a run can be repeated. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
