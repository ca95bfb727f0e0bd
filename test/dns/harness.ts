/** A coordinator wired to the Cloudflare and deSEC stand-ins on loopback, all on one manual clock. */

import { Coordinator } from "../../coordinator/coordinator.ts";
import { createProviders } from "../../coordinator/dns/factory.ts";
import { MemoryStore } from "../../coordinator/store/memory.ts";
import { ManualClock } from "../../shared/clock.ts";
import { configFromObject } from "../../shared/config.ts";
import type { Config } from "../../shared/config-schema.ts";
import { silentLogger } from "../../shared/log.ts";
import {
  type CloudflareStandinOptions,
  type RunningCloudflareStandin,
  startCloudflareStandin,
} from "../../standins/cloudflare.ts";
import {
  type DesecStandinOptions,
  type RunningDesecStandin,
  startDesecStandin,
} from "../../standins/desec.ts";

export const ZONE = "example.com";
export const CF_TOKEN = "cf-token-0123456789";
export const DESEC_TOKEN = "desec-token-0123456789";
export const CF_ZONE_ID = "023e105f4ecef8ad9ca31a8372d0c353";
const PROBES = ["p1", "p2", "p3"];

/** Everything a DNS scenario test touches. */
export interface Harness {
  clock: ManualClock;
  cf: RunningCloudflareStandin;
  desec: RunningDesecStandin;
  config: Config;
  coordinator: Coordinator;
  store: MemoryStore;
  /** Runs due timers and waits for DNS rounds in flight, a few times over. */
  settle(): Promise<void>;
  /** Moves the clock forward in 1 s steps, settling after each. */
  advance(ms: number): Promise<void>;
  /** Makes every probe vote the primary of every service down (or up), so the coordinator decides. */
  vote(primaryUp: boolean): Promise<void>;
  close(): Promise<void>;
}

/** Starts both stand-ins and a coordinator with `services` services (router `svcN-router`). */
export async function startHarness(options: {
  services?: number;
  cloudflare?: Partial<CloudflareStandinOptions>;
  desec?: Partial<DesecStandinOptions>;
  cloudflareToken?: string;
  desecTtl?: number;
  /** Service N's paths: `addresses` instead of the default CNAME targets (an address router). */
  addresses?: (i: number) => { router?: string; primary: string[]; secondary: string[] };
}): Promise<Harness> {
  const clock = new ManualClock();
  const cf = await startCloudflareStandin({
    tokens: [CF_TOKEN],
    zones: [{ name: ZONE, id: CF_ZONE_ID }],
    clock,
    ...options.cloudflare,
  });
  const desec = await startDesecStandin({
    tokens: [DESEC_TOKEN],
    domains: [{ name: ZONE, minimumTtl: 3600 }],
    clock,
    ...options.desec,
  });
  const count = options.services ?? 1;
  const path = (i: number, endpoint: "primary" | "secondary", target: string) => {
    const addresses = options.addresses?.(i)[endpoint];
    return addresses ? { addresses } : { target };
  };
  const config = configFromObject({
    zone: ZONE,
    providers: {
      cloudflare: { tokenEnv: "CF_TOKEN", apiBase: cf.apiBase },
      desec: { tokenEnv: "DESEC_TOKEN", apiBase: desec.apiBase },
    },
    services: Array.from({ length: count }, (_, i) => ({
      name: `svc${i}`,
      router: options.addresses?.(i).router ?? `svc${i}-router`,
      ttl: 60,
      desec: { ttl: options.desecTtl ?? 3600 },
      primary: {
        ...path(i, "primary", `svc${i}-cf.example.net.`),
        check: { url: `https://svc${i}-cf.example.net/healthz` },
      },
      secondary: {
        ...path(i, "secondary", `svc${i}-cdn2.example.net.`),
        check: { url: `https://svc${i}-cdn2.example.net/healthz` },
      },
      failAfter: 1,
      recoverAfter: 1,
      holdDown: "0s",
    })),
    probes: {
      interval: "10s",
      members: PROBES.map((id) => ({ id, provider: `edge-${id}`, secretEnv: "PROBE_SECRET" })),
    },
  });
  const env: Record<string, string> = { CF_TOKEN: options.cloudflareToken ?? CF_TOKEN, DESEC_TOKEN };
  const providers = createProviders(config, { env: (name) => env[name], fetch, clock });
  const store = new MemoryStore();
  const coordinator = await Coordinator.open({
    config,
    store,
    clock,
    log: silentLogger,
    providers,
    random: () => 0.5,
  });
  let reportSeq = 0;
  const settle = async () => {
    for (let i = 0; i < 6; i++) {
      await clock.advance(0);
      await coordinator.reconciler.idle();
    }
  };
  return {
    clock,
    cf,
    desec,
    config,
    coordinator,
    store,
    settle,
    async advance(ms) {
      // Small steps: a round's request timeouts run on this clock too, and real I/O needs real time to answer.
      for (let left = ms; left > 0; left -= 1000) {
        await clock.advance(Math.min(1000, left));
        await settle();
      }
    },
    async vote(primaryUp) {
      const at = new Date(clock.now()).toISOString();
      for (const probe of PROBES) {
        const results = config.services.flatMap((svc) => [
          { service: svc.name, endpoint: "primary" as const, ok: primaryUp, checkedAt: at },
          { service: svc.name, endpoint: "secondary" as const, ok: true, checkedAt: at },
        ]);
        await coordinator.acceptReport({ id: `r${reportSeq++}`, probe, sentAt: at, healthy: true, results });
      }
    },
    async close() {
      coordinator.stop();
      await Promise.all([cf.close(), desec.close()]);
      await coordinator.reconciler.idle();
    },
  };
}

/** The reconciler's row for one router on one provider. */
export function row(h: Harness, provider: string, router = `svc0-router.${ZONE}`) {
  return h.coordinator.reconciler.states().find((r) => r.provider === provider && r.router === router);
}
