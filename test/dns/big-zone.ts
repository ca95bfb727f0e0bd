/**
 * A zone of many routers on both loopback stand-ins (deSEC and Cloudflare), one `Reconciler` over real
 * clients, a manual clock, and a fetch that records every request (URL, status, time) — for counting
 * what a switch or a drift check costs. Shared by test/dns/filtered-reads.test.ts and bench/dns-reads.ts.
 */
import { CloudflareDnsProvider } from "../../coordinator/dns/cloudflare.ts";
import { DesecDnsProvider } from "../../coordinator/dns/desec.ts";
import type { DnsProvider } from "../../coordinator/dns/provider.ts";
import { type DesiredTarget, Reconciler } from "../../coordinator/dns/reconciler.ts";
import type { NewEvent } from "../../coordinator/store/store.ts";
import { ManualClock } from "../../shared/clock.ts";
import { silentLogger } from "../../shared/log.ts";
import { type RunningCloudflareStandin, startCloudflareStandin } from "../../standins/cloudflare.ts";
import { type RunningDesecStandin, startDesecStandin } from "../../standins/desec.ts";

export const BIG_ZONE = "example.com";
const CF_TOKEN = "cf-token-0123456789";
const DESEC_TOKEN = "desec-token-0123456789";

/** One request as the client sent it and the stand-in answered it. */
export interface Sent {
  provider: "cloudflare" | "desec";
  method: string;
  url: URL;
  status: number;
  /** Manual-clock time when the answer came. */
  at: number;
}

/** Everything a big-zone scenario touches. */
export interface BigZone {
  clock: ManualClock;
  desec: RunningDesecStandin;
  cf: RunningCloudflareStandin;
  desecClient: DesecDnsProvider;
  cfClient: CloudflareDnsProvider;
  reconciler: Reconciler;
  events: NewEvent[];
  sent: Sent[];
  /** The desired targets: router `rI.example.com` → `a-I.example.net.` (what both stand-ins were seeded with). */
  desired: DesiredTarget[];
  /** Runs rounds in flight to their end, moving the clock 1 s whenever they wait on it (pacing pauses). */
  drive(maxSteps?: number): Promise<void>;
  /** Moves the clock by `ms` in steps, driving rounds as timers start them. */
  advance(ms: number, stepMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts the stand-ins seeded with `routers` CNAME routers, and a reconciler over `providers` (default both). */
export async function startBigZone(options: {
  routers: number;
  providers?: ("desec" | "cloudflare")[];
  /** Cloudflare list page size (the client's `perPage`); default 1000, so 10,000 routers take 10 pages; 0: the client's default. */
  cfPerPage?: number;
  driftCheckMs?: number;
  /** Wraps each client before the reconciler gets it (a benchmark's other read strategy). */
  wrap?: (provider: DnsProvider, routers: () => string[]) => DnsProvider;
}): Promise<BigZone> {
  const clock = new ManualClock();
  const desec = await startDesecStandin({ tokens: [DESEC_TOKEN], domains: [{ name: BIG_ZONE }], clock });
  const cf = await startCloudflareStandin({ tokens: [CF_TOKEN], zones: [{ name: BIG_ZONE }], clock });
  const desired: DesiredTarget[] = [];
  for (let i = 0; i < options.routers; i++) {
    const target = `a-${i}.example.net.`;
    desec.standin.seed(BIG_ZONE, { subname: `r${i}`, type: "CNAME", records: [target], ttl: 3600 });
    cf.standin.seed(BIG_ZONE, {
      name: `r${i}.${BIG_ZONE}`,
      type: "CNAME",
      content: target.slice(0, -1),
      ttl: 60,
    });
    desired.push({
      service: `s${i}`,
      router: `r${i}.${BIG_ZONE}`,
      target,
      ttl: { desec: 3600, cloudflare: 60 },
    });
  }
  const sent: Sent[] = [];
  let inFlight = 0;
  const recording =
    (provider: Sent["provider"]): typeof fetch =>
    async (input, init) => {
      inFlight++;
      try {
        const response = await fetch(input, init);
        const body = await response.text();
        const url = new URL(String(input));
        sent.push({ provider, method: init?.method ?? "GET", url, status: response.status, at: clock.now() });
        return new Response(response.status === 204 ? null : body, {
          status: response.status,
          headers: response.headers,
        });
      } finally {
        inFlight--;
      }
    };
  const desecClient = new DesecDnsProvider({
    fetch: recording("desec"),
    apiBase: desec.apiBase,
    token: DESEC_TOKEN,
    domain: BIG_ZONE,
    clock,
  });
  const cfClient = new CloudflareDnsProvider({
    fetch: recording("cloudflare"),
    apiBase: cf.apiBase,
    token: CF_TOKEN,
    zone: BIG_ZONE,
    clock,
    ...(options.cfPerPage !== 0 ? { perPage: options.cfPerPage ?? 1000 } : {}),
  });
  const wanted = options.providers ?? ["desec", "cloudflare"];
  const providers: DnsProvider[] = [];
  if (wanted.includes("desec")) providers.push(desecClient);
  if (wanted.includes("cloudflare")) providers.push(cfClient);
  const routers = () => reconciler.desired().map((d) => d.router);
  const wrapped = options.wrap ? providers.map((p) => options.wrap?.(p, routers) ?? p) : providers;
  const events: NewEvent[] = [];
  const reconciler: Reconciler = new Reconciler(wrapped, {
    clock,
    log: silentLogger,
    timing: () => ({ timeoutMs: 60_000, maxBackoffMs: 30_000 }),
    persist: async (change) => {
      events.push(...change.events);
    },
    random: () => 0.5,
    ...(options.driftCheckMs !== undefined ? { driftCheckMs: options.driftCheckMs } : {}),
  });
  const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
  /** Resolves once no request has been in flight for a few event-loop turns. */
  const quiet = async () => {
    for (let calm = 0; calm < 3; ) {
      await tick();
      calm = inFlight === 0 ? calm + 1 : 0;
    }
  };
  const drive = async (maxSteps = 600) => {
    for (let step = 0; step < maxSteps; step++) {
      const done = await Promise.race([reconciler.idle().then(() => true), quiet().then(() => false)]);
      if (done) return;
      await clock.advance(1000);
    }
    throw new Error(`DNS rounds still running after ${maxSteps} s of manual time`);
  };
  return {
    clock,
    desec,
    cf,
    desecClient,
    cfClient,
    reconciler,
    events,
    sent,
    desired,
    drive,
    async advance(ms, stepMs = 1000) {
      for (let left = ms; left > 0; left -= stepMs) {
        await clock.advance(Math.min(stepMs, left));
        await drive();
      }
    },
    async close() {
      reconciler.stop();
      await Promise.all([desec.close(), cf.close()]);
    },
  };
}
