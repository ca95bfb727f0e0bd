/**
 * CONTRACT §4a "Routers are independent of each other": one router a provider refuses is an error for
 * that router alone; every other router on that provider still switches in the same round, and drift
 * checks keep running after a permanent error. Real clients against the loopback stand-ins.
 */
import { afterEach, describe, expect, it } from "vitest";
import { CloudflareDnsProvider } from "../../coordinator/dns/cloudflare.ts";
import { DesecDnsProvider } from "../../coordinator/dns/desec.ts";
import type { DnsProvider } from "../../coordinator/dns/provider.ts";
import { type DesiredTarget, Reconciler } from "../../coordinator/dns/reconciler.ts";
import type { NewEvent } from "../../coordinator/store/store.ts";
import { ManualClock } from "../../shared/clock.ts";
import { silentLogger } from "../../shared/log.ts";
import { type RunningCloudflareStandin, startCloudflareStandin } from "../../standins/cloudflare.ts";
import { type RunningDesecStandin, startDesecStandin } from "../../standins/desec.ts";

const ZONE = "example.com";
const TOKEN = "token-0123456789";
const SERVICES = 6;
const BAD = 3;

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

function reconcile(provider: DnsProvider, clock: ManualClock) {
  const events: NewEvent[] = [];
  const reconciler = new Reconciler([provider], {
    clock,
    log: silentLogger,
    timing: () => ({ timeoutMs: 10_000, maxBackoffMs: 30_000 }),
    persist: async (change) => {
      events.push(...change.events);
    },
    random: () => 0.5,
    driftCheckMs: 60_000,
  });
  closers.push(async () => reconciler.stop());
  const settle = async (ms: number) => {
    for (let left = ms; left > 0; left -= 1000) {
      await clock.advance(Math.min(1000, left));
      await reconciler.idle();
    }
  };
  return { reconciler, events, settle };
}

/** Every service on `path`; service BAD has `badTtl` on `provider`. */
function desired(provider: string, path: "a" | "b", ttl: number, badTtl: number): DesiredTarget[] {
  return Array.from({ length: SERVICES }, (_, i) => ({
    service: `svc${i}`,
    router: `svc${i}-router.${ZONE}`,
    target: `svc${i}-${path}.example.net.`,
    ttl: { [provider]: i === BAD ? badTtl : ttl },
  }));
}

describe("one router refused by Cloudflare does not hold the others hostage", () => {
  async function cloudflare() {
    const clock = new ManualClock();
    const cf: RunningCloudflareStandin = await startCloudflareStandin({
      tokens: [TOKEN],
      zones: [{ name: ZONE }],
      clock,
    });
    closers.push(() => cf.close());
    const provider = new CloudflareDnsProvider({
      fetch,
      apiBase: cf.apiBase,
      token: TOKEN,
      zone: ZONE,
      clock,
    });
    return { clock, cf, provider };
  }

  it("switches every other service in the same round when one has a TTL Cloudflare refuses (30 s)", async () => {
    const { clock, cf, provider } = await cloudflare();
    for (let i = 0; i < SERVICES; i++)
      cf.standin.seed(ZONE, {
        name: `svc${i}-router.${ZONE}`,
        type: "CNAME",
        content: `svc${i}-a.example.net`,
        ttl: 60,
      });
    const t = reconcile(provider, clock);
    t.reconciler.setDesired(desired("cloudflare", "b", 60, 30));
    await t.reconciler.idle();
    await t.settle(1000);
    const served = new Map([...cf.standin.records(ZONE).values()].map((r) => [r.name, r.content]));
    for (let i = 0; i < SERVICES; i++) {
      expect(served.get(`svc${i}-router.${ZONE}`)).toBe(
        i === BAD ? `svc${i}-a.example.net` : `svc${i}-b.example.net`,
      );
    }
    const states = t.reconciler.states();
    expect(states.filter((s) => s.state === "error").map((s) => s.router)).toEqual([
      `svc${BAD}-router.${ZONE}`,
    ]);
    expect(states.filter((s) => s.state === "in-sync")).toHaveLength(SERVICES - 1);
    expect(states.find((s) => s.state === "error")?.error).toContain("TTL must be between 60 and 86400");
    const errors = t.events.filter((e) => e.type === "dns.error");
    expect(errors.map((e) => e.service)).toEqual([`svc${BAD}`]);
    expect(t.events.filter((e) => e.type === "dns.switched")).toHaveLength(SERVICES - 1);
  });

  it("keeps drift checks running after a permanent error and does not rewrite the refused router each round", async () => {
    const { clock, cf, provider } = await cloudflare();
    const t = reconcile(provider, clock);
    t.reconciler.setDesired(desired("cloudflare", "a", 60, 30));
    await t.settle(2000);
    const batches = () => cf.standin.requests.get("POST", "/zones/:zone/dns_records/batch");
    const before = batches();
    // A hand edit of a healthy router: the next drift check (60 s) must put it back.
    const record = [...cf.standin.records(ZONE).values()].find((r) => r.name === `svc0-router.${ZONE}`);
    if (!record) throw new Error("svc0 router missing");
    record.content = "hand-edit.example.net";
    await t.settle(65_000);
    const fresh = [...cf.standin.records(ZONE).values()].find((r) => r.name === `svc0-router.${ZONE}`);
    expect(fresh?.content).toBe("svc0-a.example.net");
    expect(t.events.some((e) => e.type === "dns.drift" && e.service === "svc0")).toBe(true);
    // One write for the drift, not one per round for the refused router.
    expect(batches() - before).toBeLessThanOrEqual(2);
    expect(t.reconciler.states().find((s) => s.router === `svc${BAD}-router.${ZONE}`)?.state).toBe("error");
  });

  it("keeps checking after an auth error and recovers without an operator once the token works again", async () => {
    const { clock, cf, provider } = await cloudflare();
    cf.standin.tokens.delete(TOKEN);
    const t = reconcile(provider, clock);
    t.reconciler.setDesired(desired("cloudflare", "a", 60, 60));
    await t.settle(2000);
    expect(t.reconciler.states().every((s) => s.state === "error")).toBe(true);
    cf.standin.tokens.add(TOKEN);
    await t.settle(65_000);
    expect(t.reconciler.states().every((s) => s.state === "in-sync")).toBe(true);
  });
});

describe("one router refused by deSEC does not hold the others hostage", () => {
  it("switches every other service when one TTL is below the domain minimum (one bulk PATCH refused)", async () => {
    const clock = new ManualClock();
    const desec: RunningDesecStandin = await startDesecStandin({
      tokens: [TOKEN],
      domains: [{ name: ZONE, minimumTtl: 3600 }],
      clock,
    });
    closers.push(() => desec.close());
    const provider = new DesecDnsProvider({
      fetch,
      apiBase: desec.apiBase,
      token: TOKEN,
      domain: ZONE,
      clock,
    });
    const t = reconcile(provider, clock);
    t.reconciler.setDesired(desired("desec", "b", 3600, 60));
    await t.settle(30_000);
    const rrsets = desec.standin.rrsets(ZONE);
    for (let i = 0; i < SERVICES; i++) {
      const served = rrsets.get(`svc${i}-router/CNAME`)?.records[0];
      expect(served).toBe(i === BAD ? undefined : `svc${i}-b.example.net.`);
    }
    const states = t.reconciler.states();
    expect(states.filter((s) => s.state === "error").map((s) => s.router)).toEqual([
      `svc${BAD}-router.${ZONE}`,
    ]);
    expect(states.find((s) => s.state === "error")?.error).toContain("3600");
  });
});
