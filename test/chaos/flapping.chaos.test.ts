/**
 * Chaos scenario 7: a primary that flaps up and down every 10 s for 30 minutes, on a manual clock.
 * With holdDown the primary never earns its way back (one failover, no fail-back); without holdDown
 * the same flapping switches on nearly every turn.
 */
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../shared/clock.ts";
import { configFromObject } from "../../shared/config.ts";
import { configObject, testCoordinator } from "../helpers.ts";

const INTERVAL_MS = 5000;
const FLAP_MS = 10_000;
const RUN_MS = 30 * 60_000;

async function flap(holdDown: string) {
  const config = configFromObject(
    configObject({
      service: { failAfter: 1, recoverAfter: 1, holdDown },
      probesExtra: { interval: `${INTERVAL_MS}ms` },
    }),
  );
  const mesh = await testCoordinator({ config, clock: new ManualClock() });
  const start = mesh.clock.now();
  while (mesh.clock.now() - start < RUN_MS) {
    const primaryUp = Math.floor((mesh.clock.now() - start) / FLAP_MS) % 2 === 1;
    for (const probe of ["p1", "p2", "p3"]) await mesh.report(probe, { primary: primaryUp, secondary: true });
    await mesh.clock.advance(INTERVAL_MS);
    await mesh.coordinator.reconciler.idle();
  }
  const switches = mesh.events.filter((e) => e.type === "failover" || e.type === "failback");
  const held = mesh.events.filter((e) => e.type === "flap.held");
  mesh.coordinator.stop();
  return { switches, held, writes: mesh.dns.calls.write };
}

describe("chaos: a flapping primary", () => {
  it("fails over once and never fails back into a primary that is never UP for holdDown, and says it held", async () => {
    const bounded = await flap("2m");
    console.log(
      `scenario 7: ${RUN_MS / FLAP_MS} flips in 30 min; ${bounded.switches.length} switches with holdDown 2m (${bounded.held.length} flap.held events, ${bounded.writes} DNS writes)`,
    );
    // Fail over fast, fail back slow (CONTRACT §4): a 10 s UP never earns the 2 min of UP a fail-back needs.
    expect(bounded.switches.map((e) => e.type)).toEqual(["failover"]);
    // One held fail-back per stretch of UP: every other 10 s flip.
    expect(bounded.held.length).toBeGreaterThanOrEqual(RUN_MS / FLAP_MS / 2 - 1);
    expect(bounded.writes).toBeLessThanOrEqual(bounded.switches.length + 1);
  });

  it("control: with holdDown 0s the same flapping switches on nearly every flip", async () => {
    const free = await flap("0s");
    console.log(`scenario 7 control: ${free.switches.length} switches with holdDown 0s`);
    expect(free.switches.length).toBeGreaterThan((RUN_MS / FLAP_MS) * 0.9);
  });
});
