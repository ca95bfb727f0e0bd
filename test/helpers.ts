/** Builders shared by the test suites: configs, coordinators on a fake clock, signed reports. */

import { buildApp } from "../coordinator/app.ts";
import { Coordinator } from "../coordinator/coordinator.ts";
import { MemoryDnsProvider } from "../coordinator/dns/memory.ts";
import { MemoryStore } from "../coordinator/store/memory.ts";
import type { AuditEvent, Store } from "../coordinator/store/store.ts";
import { ManualClock } from "../shared/clock.ts";
import { configFromObject } from "../shared/config.ts";
import type { Config } from "../shared/config-schema.ts";
import { silentLogger } from "../shared/log.ts";
import type { Report } from "../shared/protocol.ts";
import { signedHeaders } from "../shared/signing.ts";

export const TOKEN = "test-operator-token";
export const secretOf = (id: string) => `secret-of-${id}`;

/** A valid config object with `n` probes (ids p1..pn on providers given by `providers`). */
export function configObject(
  options: {
    probes?: number;
    providers?: string[];
    service?: Record<string, unknown>;
    probesExtra?: Record<string, unknown>;
  } = {},
) {
  const count = options.probes ?? 3;
  return {
    zone: "example.com",
    providers: { memory: {} },
    services: [
      {
        name: "web",
        router: "web-router",
        ttl: 60,
        primary: { target: "cf-front.example.com.", check: { url: "https://cf-front.example.com/healthz" } },
        secondary: {
          target: "cdn2-front.example.com.",
          check: { url: "https://cdn2-front.example.com/healthz" },
        },
        failAfter: 3,
        recoverAfter: 2,
        holdDown: "5m",
        ...options.service,
      },
    ],
    probes: {
      interval: "10s",
      members: Array.from({ length: count }, (_, i) => ({
        id: `p${i + 1}`,
        provider: options.providers?.[i] ?? `edge${i + 1}`,
        secretEnv: `SECRET_P${i + 1}`,
      })),
      ...options.probesExtra,
    },
  };
}

/** A coordinator on a manual clock with an in-memory store and DNS, plus what tests need to drive it. */
export async function testCoordinator(
  options: { config?: Config; store?: Store; clock?: ManualClock; maxWaitingReports?: number } = {},
) {
  const config = options.config ?? configFromObject(configObject());
  const clock = options.clock ?? new ManualClock();
  const store = options.store ?? new MemoryStore();
  const dns = new MemoryDnsProvider("memory");
  const events: AuditEvent[] = [];
  const coordinator = await Coordinator.open({
    config,
    store,
    clock,
    log: silentLogger,
    providers: [dns],
    random: () => 0.5,
    onEvents: (stored) => events.push(...stored),
    ...(options.maxWaitingReports ? { maxWaitingReports: options.maxWaitingReports } : {}),
  });
  coordinator.start();
  await coordinator.reconciler.idle(); // the router is created on start; let that settle first
  const app = buildApp({
    coordinator,
    clock,
    log: silentLogger,
    apiToken: TOKEN,
    secretFor: (id) => (config.probes.members.some((m) => m.id === id) ? secretOf(id) : undefined),
  });
  let seq = 0;
  /** Feeds one round from a probe: `primary`/`secondary` ok flags. */
  const report = (probe: string, results: { primary?: boolean; secondary?: boolean }, healthy = true) => {
    const at = new Date(clock.now()).toISOString();
    const body: Report = {
      id: `r${++seq}`,
      probe,
      sentAt: at,
      healthy,
      results: (["primary", "secondary"] as const)
        .filter((e) => results[e] !== undefined)
        .map((endpoint) => ({ service: "web", endpoint, ok: results[endpoint] ?? false, checkedAt: at })),
    };
    return coordinator.acceptReport(body);
  };
  return { coordinator, clock, store, dns, events, app, config, report };
}

/** A signed `POST /v1/reports` request for the app. */
export async function signedReportRequest(
  report: Report,
  options: { secret?: string; nowMs: number; probe?: string; body?: string },
) {
  const body = options.body ?? JSON.stringify(report);
  const headers = await signedHeaders(
    options.probe ?? report.probe,
    options.secret ?? secretOf(report.probe),
    body,
    options.nowMs,
  );
  return new Request("http://coordinator/v1/reports", {
    method: "POST",
    body,
    headers: { ...headers, "content-type": "application/json" },
  });
}

/** A report from `probe` with one primary result. */
export function sampleReport(probe: string, nowMs: number, id = crypto.randomUUID()): Report {
  const at = new Date(nowMs).toISOString();
  return {
    id,
    probe,
    sentAt: at,
    healthy: true,
    results: [{ service: "web", endpoint: "primary", ok: false, status: 503, latencyMs: 12, checkedAt: at }],
  };
}
