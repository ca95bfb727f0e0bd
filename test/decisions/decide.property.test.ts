/**
 * CONTRACT §4's decision rules as properties over random rounds (fast-check): random verdicts at
 * random times fed through `planService`, the same function the coordinator runs, checked against
 * the rules stated independently here.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { initialState, type ServiceState } from "../../coordinator/engine.ts";
import { planService } from "../../coordinator/round.ts";
import type { NewEvent } from "../../coordinator/store/store.ts";
import { configFromObject } from "../../shared/config.ts";
import type { Verdict } from "../../shared/quorum.ts";
import { configObject } from "../helpers.ts";

const verdict = fc.constantFrom<Verdict>("up", "down", "unknown");
const rounds = fc.array(
  fc.record({
    primary: verdict,
    secondary: verdict,
    dt: fc.oneof(
      fc.constantFrom(1000, 10_000, 29_000, 30_000, 290_000, 300_000),
      fc.integer({ min: 1, max: 120_000 }),
    ),
  }),
  {
    minLength: 1,
    maxLength: 80,
  },
);
const tally = { up: 0, down: 0, abstain: 0 };

describe("decision rules over random rounds", () => {
  it("never stays on a DOWN live path with an UP other path, never fails back early, reports active.down once per episode", () => {
    fc.assert(
      fc.property(
        rounds,
        fc.boolean(),
        fc.constantFrom("0s", "30s", "5m"),
        (steps, autoFailback, holdDown) => {
          const svc = configFromObject(configObject({ service: { autoFailback, holdDown } })).services[0];
          if (!svc) throw new Error("the test config has one service");
          let state: ServiceState = initialState("web");
          let now = 1_000_000;
          let upStart: number | null = null;
          let activeDownOpen = false;
          for (const step of steps) {
            now += step.dt;
            upStart = step.primary === "up" ? (upStart ?? now) : null;
            const before = state;
            const plan = planService(
              svc,
              state,
              {
                primary: { verdict: step.primary, votes: tally },
                secondary: { verdict: step.secondary, votes: tally },
              },
              now,
            );
            state = plan.next;
            const live = (s: ServiceState) => (s.active === "primary" ? step.primary : step.secondary);
            const other = (s: ServiceState) => (s.active === "primary" ? step.secondary : step.primary);
            // Never left on a DOWN live path when the other path is UP (auto mode).
            expect(live(state) === "down" && other(state) === "up").toBe(false);
            const types = plan.events.map((e: NewEvent) => e.type);
            if (types.includes("failover")) {
              expect([step.primary, step.secondary === "down"]).toEqual(["down", false]);
            }
            if (types.includes("failback")) {
              const stable = upStart !== null && now - upStart >= svc.holdDown && autoFailback;
              expect(step.primary).toBe("up");
              expect(stable || step.secondary === "down").toBe(true);
            }
            if (step.primary === "down" && step.secondary === "down")
              expect(state.active).toBe(before.active);
            for (const type of types) {
              if (type === "active.down") {
                expect(activeDownOpen).toBe(false);
                expect([live(state), other(state)]).toEqual(["down", "unknown"]);
                activeDownOpen = true;
              }
              if (type === "active.down.cleared") {
                expect(activeDownOpen).toBe(true);
                activeDownOpen = false;
              }
            }
            expect(state.primaryUpSince).toBe(upStart);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
