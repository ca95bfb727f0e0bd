/**
 * A primary that flaps for 10 minutes, driven through the real coordinator on a fake clock, with
 * alerts going to a webhook: counts the events and the messages they become.
 */
import { describe, expect, it } from "vitest";
import { startAlerts } from "../../coordinator/alerts/alerts.ts";
import { severityOf } from "../../coordinator/alerts/message.ts";
import { MemoryOutbox } from "../../coordinator/alerts/outbox.ts";
import { Coordinator } from "../../coordinator/coordinator.ts";
import { MemoryDnsProvider } from "../../coordinator/dns/memory.ts";
import { MemoryStore } from "../../coordinator/store/memory.ts";
import type { AuditEvent } from "../../coordinator/store/store.ts";
import { ManualClock } from "../../shared/clock.ts";
import { configFromObject } from "../../shared/config.ts";
import { silentLogger } from "../../shared/log.ts";
import { configObject } from "../helpers.ts";
import { recordingFetch } from "./receivers.ts";

const TEN_MINUTES = 600_000;

/** Runs the flapping primary: down for `downMs`, up for `upMs`, repeated for ten minutes, probes every 10 s. */
async function flap(options: {
  holdDown: string;
  groupWait: string;
  repeatInterval: string;
  downMs: number;
  upMs: number;
}) {
  const config = configFromObject({
    ...configObject({ service: { holdDown: options.holdDown, failAfter: 3, recoverAfter: 2 } }),
    alerts: [
      {
        type: "webhook",
        urlEnv: "HOOK",
        groupWait: options.groupWait,
        repeatInterval: options.repeatInterval,
      },
    ],
  });
  const clock = new ManualClock();
  const store = new MemoryStore();
  const http = recordingFetch();
  const outbox = new MemoryOutbox();
  const events: AuditEvent[] = [];
  const alerts = await startAlerts({
    config,
    env: (name) => (name === "HOOK" ? "http://sink.test/hook" : undefined),
    outbox,
    store,
    fetch: http.fetch,
    clock,
    log: silentLogger,
  });
  const coordinator = await Coordinator.open({
    config,
    store,
    clock,
    log: silentLogger,
    providers: [new MemoryDnsProvider("cloudflare"), new MemoryDnsProvider("desec")],
    random: () => 0.5,
    onEvents: (stored) => {
      events.push(...stored);
      alerts.enqueue(stored);
    },
  });
  alerts.watch(coordinator);
  let seq = 0;
  const start = clock.now();
  const period = options.downMs + options.upMs;
  while (clock.now() - start < TEN_MINUTES) {
    const phase = (clock.now() - start) % period;
    const primaryOk = phase >= options.downMs;
    const at = new Date(clock.now()).toISOString();
    for (const probe of ["p1", "p2", "p3"]) {
      await coordinator.acceptReport({
        id: `r${++seq}`,
        probe,
        sentAt: at,
        healthy: true,
        results: [
          { service: "web", endpoint: "primary", ok: primaryOk, checkedAt: at },
          { service: "web", endpoint: "secondary", ok: true, checkedAt: at },
        ],
      });
    }
    await coordinator.reconciler.idle();
    await clock.advance(10_000);
    await alerts.dispatcher.idle();
  }
  // Let the last group's timers run out: whatever happened in the ten minutes is sent by then.
  await clock.advance(options.repeatInterval === "0s" ? 60_000 : 360_000);
  await alerts.dispatcher.idle();
  alerts.stop();
  coordinator.stop();
  const messages = http.calls.map(
    (c) => JSON.parse(c.body) as { data: { events: { id: number }[]; title: string } },
  );
  const alertable = events.filter((e) => severityOf(e) !== null);
  const entries = await outbox.list();
  const counts = new Map<string, number>();
  for (const e of alertable) counts.set(e.type, (counts.get(e.type) ?? 0) + 1);
  console.info(
    `holdDown ${options.holdDown}, groupWait ${options.groupWait}, repeatInterval ${options.repeatInterval}: ${alertable.length} alerting events (${[...counts].map(([t, n]) => `${n} ${t}`).join(", ")}) -> ${messages.length} messages, queued at ${entries.map((e) => `+${(e.createdAt - start) / 1000}s`).join(", ")}`,
  );
  return { events, alertable, messages, entries };
}

describe("a primary flapping for 10 minutes (down 60 s, up 60 s)", () => {
  it("yields a few messages with holdDown 5m, groupWait 10s, repeatInterval 5m, and loses no event", async () => {
    const run = await flap({
      holdDown: "5m",
      groupWait: "10s",
      repeatInterval: "5m",
      downMs: 60_000,
      upMs: 60_000,
    });
    // Fail back slow: the primary is never UP for 5 minutes in a row, so one failover and no fail-back.
    const switches = run.events.filter((e) => e.type === "failover" || e.type === "failback");
    expect(switches.map((e) => e.type)).toEqual(["failover"]);
    // Each time it comes back up, the held fail-back is said once.
    expect(run.events.filter((e) => e.type === "flap.held").length).toBeGreaterThanOrEqual(4);
    expect(run.messages.length).toBeGreaterThanOrEqual(2);
    expect(run.messages.length).toBeLessThanOrEqual(4);
    const delivered = run.messages.flatMap((m) => m.data.events.map((e) => e.id)).sort((a, b) => a - b);
    expect(delivered).toEqual(run.alertable.map((e) => e.id));
    // Every failover is news: it goes out groupWait after it happened, whatever repeatInterval says.
    for (const failover of run.events.filter((e) => e.type === "failover")) {
      const entry = run.entries.find((e) => e.eventIds.includes(failover.id));
      expect((entry?.createdAt ?? Number.POSITIVE_INFINITY) - Date.parse(failover.at)).toBeLessThanOrEqual(
        10_000,
      );
    }
  });

  it("without holdDown or grouping the same flapping gives many more messages, for comparison", async () => {
    const run = await flap({
      holdDown: "0s",
      groupWait: "0s",
      repeatInterval: "0s",
      downMs: 60_000,
      upMs: 60_000,
    });
    const grouped = await flap({
      holdDown: "0s",
      groupWait: "10s",
      repeatInterval: "5m",
      downMs: 60_000,
      upMs: 60_000,
    });
    // Events stored in one commit (a decision, both providers' writes in one round) share a message even here.
    const delivered = run.messages.flatMap((m) => m.data.events.map((e) => e.id)).sort((a, b) => a - b);
    expect(delivered).toEqual(run.alertable.map((e) => e.id));
    expect(run.alertable.length).toBeGreaterThan(25);
    expect(run.messages.length).toBeGreaterThan(2 * grouped.messages.length);
    expect(grouped.messages.length).toBeLessThanOrEqual(5);
  });
});
