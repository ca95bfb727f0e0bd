/**
 * CONTRACT §4 "never stay on a dead secondary", on the real Coordinator and a ManualClock: a DOWN live
 * secondary with an UP primary switches back at once (autoFailback off, or inside holdDown); a DOWN
 * live secondary with an UNKNOWN primary is said (`active.down`, critical in chat) once per episode
 * and cleared when it ends.
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
import { recordingFetch } from "../alerts/receivers.ts";
import { configObject, testCoordinator } from "../helpers.ts";

type Mesh = Awaited<ReturnType<typeof testCoordinator>>;
type Results = { primary?: boolean; secondary?: boolean };

/** `count` intervals of reports: every probe sends `results`, or its own entry of `each`. */
async function rounds(t: Mesh, each: Record<string, Results | "unhealthy">, count: number) {
  for (let i = 0; i < count; i++) {
    for (const [probe, results] of Object.entries(each)) {
      if (results === "unhealthy") await t.report(probe, { primary: false, secondary: false }, false);
      else await t.report(probe, results);
    }
    await t.clock.advance(10_000);
  }
}
const all = (results: Results) => ({ p1: results, p2: results, p3: results });

describe("a DOWN live secondary with the primary UP", () => {
  it("switches back at once with autoFailback off, as an automatic failback with the tally", async () => {
    const t = await testCoordinator({
      config: configFromObject(configObject({ service: { autoFailback: false, holdDown: "0s" } })),
    });
    await rounds(t, all({ primary: false, secondary: true }), 3);
    await rounds(t, all({ primary: true, secondary: true }), 5);
    expect(t.coordinator.service("web").active).toBe("secondary");
    await rounds(t, all({ primary: true, secondary: false }), 3);
    expect(t.coordinator.service("web").active).toBe("primary");
    const failback = t.events.find((e) => e.type === "failback");
    expect(failback).toMatchObject({
      from: "secondary",
      to: "primary",
      // Decided with the second of three reports of the round: the majority, not all three.
      votes: { primary: { up: 3, down: 0, abstain: 0 }, secondary: { down: 2, up: 1, abstain: 0 } },
    });
    expect(failback?.message).toContain("the live secondary is DOWN");
    await t.coordinator.reconciler.idle();
    expect(t.dns.records.get("web-router.example.com")?.target).toBe("cf-front.example.com.");
    t.coordinator.stop();
  });

  it("switches back at once inside holdDown, without waiting for the primary's stable window", async () => {
    const t = await testCoordinator({
      config: configFromObject(configObject({ service: { holdDown: "10m" } })),
    });
    await rounds(t, all({ primary: false, secondary: true }), 3);
    const failoverAt = t.clock.now();
    await rounds(t, all({ primary: true, secondary: false }), 3);
    expect(t.coordinator.service("web").active).toBe("primary");
    const failback = t.events.find((e) => e.type === "failback");
    // The third failed check of the secondary decides it, 10 minutes before the primary's window would end.
    expect(Date.parse(failback?.at ?? "") - failoverAt).toBeLessThan(60_000);
    expect(failback?.message).toContain("the live secondary is DOWN");
    t.coordinator.stop();
  });
});

describe("a DOWN live secondary with the primary UNKNOWN", () => {
  it("says active.down once, switches nothing, and clears it when the primary comes UP", async () => {
    const t = await testCoordinator({
      config: configFromObject(configObject({ service: { holdDown: "0s" } })),
    });
    await rounds(t, all({ primary: false, secondary: true }), 3);
    expect(t.coordinator.service("web").active).toBe("secondary");
    // p3 says it is unhealthy (abstains); p1 still sees the primary fail, p2 sees it up: primary UNKNOWN.
    await rounds(
      t,
      { p1: { primary: false, secondary: false }, p2: { primary: true, secondary: false }, p3: "unhealthy" },
      6,
    );
    expect(t.coordinator.verdicts("web").primary.verdict).toBe("unknown");
    expect(t.coordinator.verdicts("web").secondary.verdict).toBe("down");
    expect(t.coordinator.service("web")).toMatchObject({ active: "secondary", activeDown: true });
    const down = t.events.filter((e) => e.type === "active.down");
    expect(down).toHaveLength(1);
    expect(down[0]).toMatchObject({ service: "web", votes: { secondary: { down: 2 } } });
    expect(t.events.filter((e) => e.type === "failback" || e.type === "both-down")).toEqual([]);
    await rounds(t, all({ primary: true, secondary: false }), 2);
    expect(t.coordinator.service("web")).toMatchObject({ active: "primary", activeDown: false });
    const types = t.events.map((e) => e.type);
    expect(types.filter((type) => type === "active.down.cleared")).toHaveLength(1);
    expect(types.indexOf("active.down.cleared")).toBeGreaterThan(types.indexOf("active.down"));
    t.coordinator.stop();
  });

  it("routes active.down to chat as critical, at once, and its clearing as info", async () => {
    const config = configFromObject({
      ...configObject({ service: { holdDown: "0s" } }),
      alerts: [{ type: "webhook", urlEnv: "HOOK", groupWait: "5s", repeatInterval: "5m" }],
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
    });
    const events: AuditEvent[] = [];
    const coordinator = await Coordinator.open({
      config,
      store,
      clock,
      log: silentLogger,
      providers: [new MemoryDnsProvider("memory")],
      random: () => 0.5,
      onEvents: (stored) => {
        events.push(...stored);
        alerts.enqueue(stored);
      },
    });
    alerts.watch(coordinator);
    let seq = 0;
    const send = async (probe: string, primary: boolean, secondary: boolean, healthy = true) => {
      const at = new Date(clock.now()).toISOString();
      await coordinator.acceptReport({
        id: `r${++seq}`,
        probe,
        sentAt: at,
        healthy,
        results: [
          { service: "web", endpoint: "primary", ok: primary, checkedAt: at },
          { service: "web", endpoint: "secondary", ok: secondary, checkedAt: at },
        ],
      });
    };
    for (let i = 0; i < 3; i++) {
      for (const probe of ["p1", "p2", "p3"]) await send(probe, false, true);
      await clock.advance(10_000);
    }
    // Past repeatInterval, so the failover's message is not what holds the next one back.
    await clock.advance(400_000);
    await alerts.dispatcher.idle();
    const before = http.calls.length;
    for (let i = 0; i < 4; i++) {
      await send("p1", false, false);
      await send("p2", true, false);
      await send("p3", false, false, false);
      await clock.advance(10_000);
      await alerts.dispatcher.idle();
    }
    const bodies = http.calls
      .slice(before)
      .map((c) => JSON.parse(c.body) as { type: string; data: { severity: string; title: string } });
    const activeDown = events.find((e) => e.type === "active.down");
    expect(activeDown).toBeDefined();
    expect(bodies.map((b) => [b.type, b.data.severity])).toEqual([["healthmesh.active.down", "critical"]]);
    expect(bodies[0]?.data.title).toContain("web");
    // The primary comes back: the switch back and the end of the episode go out, the clearing as info.
    for (let i = 0; i < 2; i++) {
      for (const probe of ["p1", "p2", "p3"]) await send(probe, true, false);
      await clock.advance(10_000);
    }
    await clock.advance(400_000);
    await alerts.dispatcher.idle();
    const cleared = events.find((e) => e.type === "active.down.cleared");
    expect(cleared && severityOf(cleared)).toBe("info");
    const delivered = http.calls.flatMap(
      (c) => (JSON.parse(c.body) as { data: { events: { id: number }[] } }).data.events,
    );
    expect(delivered.map((e) => e.id)).toContain(cleared?.id);
    alerts.stop();
    coordinator.stop();
  });
});
