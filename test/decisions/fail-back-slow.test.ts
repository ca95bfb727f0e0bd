/**
 * CONTRACT §4 "fail over fast, fail back slow", on the real Coordinator and a ManualClock: the 18-Nov
 * pattern (a primary good five minutes, bad five, for an hour) costs one failover and no fail-back
 * until the primary is stable; leaving a DOWN live path is never held; the periodic tick fires a
 * fail-back that is due even when no report arrives.
 */
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../shared/clock.ts";
import { configFromObject } from "../../shared/config.ts";
import { configObject, testCoordinator } from "../helpers.ts";
import { describeRun, runFlappingPrimary } from "./flapping-primary.ts";

const INTERVAL = 10_000;
const HOLD_DOWN = 300_000;

describe("the 18-Nov pattern: primary good 5 min, bad 5 min, for an hour, then stable", () => {
  it("fails over once, never fails back into the flapping primary, and fails back once it is stable", async () => {
    const run = await runFlappingPrimary({ holdDown: "5m", failAfter: 3, recoverAfter: 6 });
    console.info(describeRun("18-Nov, holdDown 5m, failAfter 3, recoverAfter 6", run));
    expect(run.failovers).toHaveLength(1);
    expect(run.failbacks).toHaveLength(1);
    const failback = run.switchesAtMs.find((s) => s.type === "failback");
    // Fail-back only after the primary is stable: recoverAfter good checks, then holdDown of UP.
    expect(failback?.atMs).toBeGreaterThanOrEqual(run.stableFromMs + HOLD_DOWN);
    expect(failback?.atMs).toBeLessThanOrEqual(run.stableFromMs + 6 * INTERVAL + HOLD_DOWN + INTERVAL);
    // The live path was down only while the first bad window was being detected (failAfter checks).
    expect(run.liveDownMs).toBeLessThanOrEqual(3 * INTERVAL);
    expect(run.liveDownTotalMs).toBe(run.liveDownMs);
    // Each time the primary came back it was held, and said so once per stretch of UP.
    expect(run.held.length).toBeGreaterThanOrEqual(5);
    expect(run.active).toBe("primary");
  });
});

/** Rounds of reports from all three probes, `count` intervals. */
async function rounds(
  t: Awaited<ReturnType<typeof testCoordinator>>,
  results: { primary?: boolean; secondary?: boolean },
  count: number,
) {
  for (let i = 0; i < count; i++) {
    for (const probe of ["p1", "p2", "p3"]) await t.report(probe, results);
    await t.clock.advance(INTERVAL);
  }
}

describe("fail over fast", () => {
  it("leaves a primary that goes DOWN right after a fail-back at once: holdDown never holds a failover", async () => {
    const t = await testCoordinator({
      config: configFromObject(configObject({ service: { holdDown: "1m", recoverAfter: 2 } })),
    });
    await rounds(t, { primary: false, secondary: true }, 3);
    expect(t.coordinator.service("web").active).toBe("secondary");
    await rounds(t, { primary: true, secondary: true }, 9);
    expect(t.coordinator.service("web").active).toBe("primary");
    const failback = t.events.find((e) => e.type === "failback");
    await rounds(t, { primary: false, secondary: true }, 3);
    expect(t.coordinator.service("web").active).toBe("secondary");
    const failovers = t.events.filter((e) => e.type === "failover");
    expect(failovers).toHaveLength(2);
    // Three failed checks 10 s apart after the fail-back: the failover comes with the third, well inside holdDown.
    expect(Date.parse(failovers[1]?.at ?? "") - Date.parse(failback?.at ?? "")).toBeLessThan(60_000);
    expect(t.events.filter((e) => e.type === "flap.held" && e.to === "secondary")).toEqual([]);
    t.coordinator.stop();
  });
});

describe("fail back slow", () => {
  it("restarts the holdDown clock whenever the primary's verdict leaves UP", async () => {
    const t = await testCoordinator({
      config: configFromObject(configObject({ service: { holdDown: "1m", failAfter: 2, recoverAfter: 1 } })),
    });
    await rounds(t, { primary: false, secondary: true }, 2);
    expect(t.coordinator.service("web").active).toBe("secondary");
    // UP for 50 s (four good checks and one failed, failAfter 2), DOWN again, then UP for good: the
    // fail-back waits for a full minute of UP after the last break, and the tick fires it on time.
    await rounds(t, { primary: true, secondary: true }, 4);
    await rounds(t, { primary: false, secondary: true }, 2);
    const upAgain = t.clock.now();
    await rounds(t, { primary: true, secondary: true }, 5);
    expect(t.coordinator.service("web").active).toBe("secondary");
    await rounds(t, { primary: true, secondary: true }, 1);
    expect(t.coordinator.service("web").active).toBe("primary");
    const failback = t.events.find((e) => e.type === "failback");
    expect(Date.parse(failback?.at ?? "") - upAgain).toBe(60_000);
    expect(t.events.filter((e) => e.type === "flap.held")).toHaveLength(2);
    t.coordinator.stop();
  });

  it("fails back from the periodic tick when the window elapses, with no report arriving", async () => {
    const clock = new ManualClock();
    const t = await testCoordinator({
      clock,
      config: configFromObject(configObject({ service: { holdDown: "20s", failAfter: 1, recoverAfter: 1 } })),
    });
    await rounds(t, { primary: false, secondary: true }, 1);
    expect(t.coordinator.service("web").active).toBe("secondary");
    for (const probe of ["p1", "p2", "p3"]) await t.report(probe, { primary: true, secondary: true });
    const upAt = clock.now();
    expect(t.coordinator.service("web").active).toBe("secondary");
    // No more reports: the votes stay fresh for 3 intervals (30 s), longer than holdDown.
    await clock.advance(25_000);
    expect(t.coordinator.service("web").active).toBe("primary");
    const failback = t.events.find((e) => e.type === "failback");
    expect(Date.parse(failback?.at ?? "") - upAt).toBeGreaterThanOrEqual(20_000);
    expect(Date.parse(failback?.at ?? "") - upAt).toBeLessThanOrEqual(20_000 + INTERVAL);
    t.coordinator.stop();
  });
});
