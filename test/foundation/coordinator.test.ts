import { describe, expect, it } from "vitest";
import { configFromObject } from "../../shared/config.ts";
import { configObject, testCoordinator } from "../helpers.ts";

const types = (events: { type: string }[]) =>
  events.map((e) => e.type).filter((t) => t !== "coordinator.started");

/** Three rounds of reports 10 s apart from the given probes. */
async function rounds(
  t: Awaited<ReturnType<typeof testCoordinator>>,
  probes: string[],
  results: { primary?: boolean; secondary?: boolean },
  count = 3,
) {
  for (let i = 0; i < count; i++) {
    for (const probe of probes) await t.report(probe, results);
    await t.clock.advance(10_000);
  }
}

describe("Coordinator quorum rules", () => {
  it("fails over when 2 of 3 probes vote the primary down and the secondary is up", async () => {
    const t = await testCoordinator();
    await rounds(t, ["p1", "p2", "p3"], { primary: true, secondary: true }, 2);
    await rounds(t, ["p1", "p2"], { primary: false, secondary: true });
    await t.coordinator.reconciler.idle();
    expect(t.coordinator.service("web").active).toBe("secondary");
    const failover = t.events.find((e) => e.type === "failover");
    // p3 went quiet 20 s before the decision: not yet stale, so its last up vote still counts.
    expect(failover?.votes?.primary).toEqual({ down: 2, up: 1, abstain: 0 });
    expect(failover?.from).toBe("primary");
    expect(t.dns.records.get("web-router.example.com")?.target).toBe("cdn2-front.example.com.");
  });

  it("does not switch when 2 probes are silent and 1 votes down", async () => {
    const t = await testCoordinator();
    await rounds(t, ["p1"], { primary: false, secondary: true }, 10);
    expect(t.coordinator.service("web").active).toBe("primary");
    expect(t.coordinator.verdicts("web").primary).toEqual({
      verdict: "unknown",
      votes: { down: 1, up: 0, abstain: 2 },
    });
    expect(types(t.events)).not.toContain("failover");
    expect(types(t.events).filter((e) => e === "probe.silent")).toHaveLength(2);
  });

  it("counts a self-unhealthy probe as abstaining, never as down", async () => {
    const t = await testCoordinator();
    for (let i = 0; i < 5; i++) {
      await t.report("p1", { primary: false, secondary: true });
      await t.report("p2", { primary: false, secondary: false }, false);
      await t.report("p3", { primary: true, secondary: true });
      await t.clock.advance(10_000);
    }
    expect(t.coordinator.verdicts("web").primary.votes).toEqual({ down: 1, up: 1, abstain: 1 });
    expect(t.coordinator.service("web").active).toBe("primary");
  });

  it("lets a stale probe's down vote lapse after 3 intervals", async () => {
    const t = await testCoordinator();
    await rounds(t, ["p1", "p2"], { primary: false, secondary: false }, 3);
    expect(t.coordinator.verdicts("web").primary.verdict).toBe("down");
    await t.clock.advance(31_000);
    await t.coordinator.evaluate();
    expect(t.coordinator.verdicts("web").primary).toEqual({
      verdict: "unknown",
      votes: { down: 0, up: 0, abstain: 3 },
    });
  });

  it("alerts once and does not switch when both paths are down", async () => {
    const t = await testCoordinator();
    await rounds(t, ["p1", "p2", "p3"], { primary: false, secondary: false }, 5);
    expect(t.coordinator.service("web").active).toBe("primary");
    expect(types(t.events).filter((e) => e === "both-down")).toHaveLength(1);
    await rounds(t, ["p1", "p2", "p3"], { primary: false, secondary: true }, 2);
    expect(types(t.events)).toContain("both-down.cleared");
  });

  it("fails back with hysteresis, only once the primary has been UP for holdDown", async () => {
    const t = await testCoordinator();
    await rounds(t, ["p1", "p2", "p3"], { primary: false, secondary: true });
    expect(t.coordinator.service("web").active).toBe("secondary");
    await rounds(t, ["p1", "p2", "p3"], { primary: true, secondary: true }, 2);
    expect(t.coordinator.service("web").active).toBe("secondary");
    const upSince = t.coordinator.service("web").primaryUpSince ?? Number.NaN;
    expect(types(t.events).filter((e) => e === "flap.held")).toHaveLength(1);
    await rounds(t, ["p1", "p2", "p3"], { primary: true, secondary: true }, 30);
    expect(t.coordinator.service("web").active).toBe("primary");
    expect(types(t.events).filter((e) => e === "failover" || e === "failback")).toEqual([
      "failover",
      "failback",
    ]);
    const failback = t.events.find((e) => e.type === "failback");
    expect(Date.parse(failback?.at ?? "") - upSince).toBe(300_000);
  });

  it("keeps the secondary when autoFailback is off", async () => {
    const t = await testCoordinator({
      config: configFromObject(configObject({ service: { autoFailback: false, holdDown: "0s" } })),
    });
    await rounds(t, ["p1", "p2", "p3"], { primary: false, secondary: true });
    await rounds(t, ["p1", "p2", "p3"], { primary: true, secondary: true }, 5);
    expect(t.coordinator.service("web").active).toBe("secondary");
  });

  it("never switches a paused service, and decides again on resume", async () => {
    const t = await testCoordinator();
    await t.coordinator.pause("web", { actor: "alice", reason: "maintenance" });
    await rounds(t, ["p1", "p2", "p3"], { primary: false, secondary: true });
    expect(t.coordinator.service("web")).toMatchObject({ active: "primary", mode: "paused" });
    await t.coordinator.resume("web", { actor: "alice" });
    expect(t.coordinator.service("web")).toMatchObject({ active: "secondary", mode: "auto" });
    expect(t.events.find((e) => e.type === "pause")).toMatchObject({ actor: "alice", service: "web" });
    expect(types(t.events).filter((e) => e === "switch.suppressed")).toHaveLength(1);
    expect(t.events.find((e) => e.type === "switch.suppressed")?.message).toContain("the service is paused");
  });

  it("pins a service where the operator puts it, whatever the votes say", async () => {
    const t = await testCoordinator();
    await t.coordinator.failover("web", "secondary", { actor: "bob", reason: "CDN maintenance" });
    await t.coordinator.reconciler.idle();
    expect(t.dns.records.get("web-router.example.com")?.target).toBe("cdn2-front.example.com.");
    await rounds(t, ["p1", "p2", "p3"], { primary: true, secondary: false }, 40);
    expect(t.coordinator.service("web")).toMatchObject({ active: "secondary", mode: "pinned" });
    expect(t.events.find((e) => e.type === "pin")).toMatchObject({
      actor: "bob",
      from: "primary",
      to: "secondary",
    });
  });

  it("follows the providers quorum: three probes on one edge are one vote", async () => {
    const config = configFromObject(
      configObject({ probes: 5, providers: ["a", "a", "a", "b", "c"], probesExtra: { quorum: "providers" } }),
    );
    const t = await testCoordinator({ config });
    await rounds(t, ["p1", "p2", "p3"], { primary: false, secondary: true });
    expect(t.coordinator.verdicts("web").primary.verdict).toBe("unknown");
    await rounds(t, ["p1", "p2", "p3", "p4"], { primary: false, secondary: true });
    expect(t.coordinator.service("web").active).toBe("secondary");
  });

  it("refuses operator actions on an unknown service with a 404 error", async () => {
    const t = await testCoordinator();
    await expect(t.coordinator.pause("nope", { actor: "x" })).rejects.toMatchObject({ status: 404 });
  });
});
