/**
 * Alerts wired to the real coordinator on a fake clock: a DNS provider that refuses every write
 * yields a dns.error message at once and, two minutes later, a dns.diverged message recorded
 * through `Coordinator.recordEvent`; operator actions reach chat with their actor.
 */
import { describe, expect, it } from "vitest";
import { startAlerts } from "../../coordinator/alerts/alerts.ts";
import { MemoryOutbox } from "../../coordinator/alerts/outbox.ts";
import { Coordinator } from "../../coordinator/coordinator.ts";
import { AuthError } from "../../coordinator/dns/errors.ts";
import { MemoryDnsProvider } from "../../coordinator/dns/memory.ts";
import { MemoryStore } from "../../coordinator/store/memory.ts";
import { ManualClock } from "../../shared/clock.ts";
import { configFromObject } from "../../shared/config.ts";
import { silentLogger } from "../../shared/log.ts";
import { configObject } from "../helpers.ts";
import { recordingFetch } from "./receivers.ts";

describe("alerts from a running coordinator", () => {
  it("a provider refusing writes alerts dns.error, then dns.diverged after two minutes, each once", async () => {
    const config = configFromObject({
      ...configObject(),
      coordinator: { publicUrl: "https://status.example.com" },
      alerts: [{ type: "webhook", urlEnv: "HOOK", groupWait: "5s", minSeverity: "warning" }],
    });
    const clock = new ManualClock();
    const store = new MemoryStore();
    const http = recordingFetch();
    const alerts = await startAlerts({
      config,
      env: (name) => (name === "HOOK" ? "http://sink.test/hook" : undefined),
      outbox: new MemoryOutbox(),
      store,
      fetch: http.fetch,
      clock,
      log: silentLogger,
      divergedAfterMs: 120_000,
    });
    const desec = new MemoryDnsProvider("desec");
    desec.fault = new AuthError("desec", "Cannot write to deSEC: token lacks permission");
    const coordinator = await Coordinator.open({
      config,
      store,
      clock,
      log: silentLogger,
      providers: [new MemoryDnsProvider("cloudflare"), desec],
      random: () => 0.5,
      onEvents: (events) => alerts.enqueue(events),
    });
    alerts.watch(coordinator);
    await coordinator.reconciler.idle();
    await clock.advance(10_000);
    await alerts.dispatcher.idle();
    const bodies = () =>
      http.calls.map((c) => JSON.parse(c.body) as { type: string; data: { title: string; link?: string } });
    expect(bodies().map((b) => b.type)).toEqual(["healthmesh.dns.error"]);
    await coordinator.pause("web", { actor: "cli:alice", reason: "maintenance" });
    await clock.advance(130_000);
    await alerts.dispatcher.idle();
    // dns.diverged is critical news to the group (its last message said dns.error): it does not wait
    // for repeatInterval, and takes the pause (milder, which was waiting) along.
    expect(bodies().map((b) => b.data.title)).toEqual([
      'DNS write failed for "web" on desec',
      'DNS providers disagree on "web" (+1 more)',
    ]);
    await clock.advance(300_000);
    await alerts.dispatcher.idle();
    const sent = bodies();
    const lines = sent.flatMap((b) => JSON.stringify(b));
    expect(sent.filter((b) => b.type === "healthmesh.dns.error")).toHaveLength(1);
    expect(lines.filter((l) => l.includes('"type":"dns.diverged"'))).toHaveLength(1);
    expect(lines.some((l) => l.includes("cli:alice paused"))).toBe(true);
    expect(sent.every((b) => b.data.link === "https://status.example.com")).toBe(true);
    const audit = await store.listEvents({});
    expect(audit.filter((e) => e.type === "dns.diverged")).toHaveLength(1);
    alerts.stop();
    coordinator.stop();
  });
});
