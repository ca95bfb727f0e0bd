/**
 * CONTRACT §4 "votes per endpoint, not per probe", on the real Coordinator: a probe that keeps
 * reporting but not one endpoint abstains on that endpoint after 3 intervals; one result per endpoint
 * counts within a report (the newest by checkedAt); a result older than the one already folded is
 * ignored.
 */
import { describe, expect, it } from "vitest";
import type { CheckResult } from "../../shared/protocol.ts";
import { testCoordinator } from "../helpers.ts";

type Mesh = Awaited<ReturnType<typeof testCoordinator>>;
let seq = 0;

/** A report from `probe` carrying exactly `results` (primary/secondary of "web"), as given. */
function send(
  t: Mesh,
  probe: string,
  results: { endpoint: "primary" | "secondary"; ok: boolean; at: number }[],
) {
  const toResult = (r: (typeof results)[number]): CheckResult => ({
    service: "web",
    endpoint: r.endpoint,
    ok: r.ok,
    checkedAt: new Date(r.at).toISOString(),
  });
  return t.coordinator.acceptReport({
    id: `v${++seq}`,
    probe,
    sentAt: new Date(t.clock.now()).toISOString(),
    healthy: true,
    results: results.map(toResult),
  });
}

describe("staleness per endpoint", () => {
  it("a probe that keeps reporting, but not the primary, abstains on the primary after 3 intervals", async () => {
    const t = await testCoordinator();
    for (let i = 0; i < 3; i++) {
      for (const probe of ["p1", "p2", "p3"]) await t.report(probe, { primary: false, secondary: true });
      await t.clock.advance(10_000);
    }
    const vote = (probe: string) =>
      t.coordinator.verdicts("web").counted.primary.find((v) => v.probe === probe)?.vote;
    expect(vote("p1")).toBe("down");
    // p1 now reports only the secondary (a stale assignment, a result cap): its primary vote lapses.
    for (let i = 0; i < 4; i++) {
      await t.report("p1", { secondary: true });
      for (const probe of ["p2", "p3"]) await t.report(probe, { primary: false, secondary: true });
      await t.clock.advance(10_000);
    }
    expect(t.coordinator.probe("p1")?.lastSeen).toBe(t.clock.now() - 10_000);
    expect(vote("p1")).toBe("abstain");
    expect(t.coordinator.verdicts("web").counted.secondary.find((v) => v.probe === "p1")?.vote).toBe("up");
    expect(t.coordinator.verdicts("web").primary.votes).toEqual({ down: 2, up: 0, abstain: 1 });
    t.coordinator.stop();
  });
});

describe("one result per endpoint per report", () => {
  it("three failed checks of the primary in one report are one failed check, not a down vote", async () => {
    const t = await testCoordinator();
    const now = t.clock.now();
    await send(t, "p1", [
      { endpoint: "primary", ok: false, at: now - 2000 },
      { endpoint: "primary", ok: false, at: now - 1000 },
      { endpoint: "primary", ok: false, at: now },
    ]);
    expect(t.coordinator.track("p1", "web", "primary")).toMatchObject({ fails: 1, vote: null });
    t.coordinator.stop();
  });

  it("the newest result by checkedAt is the one that counts, wherever it is in the report", async () => {
    const t = await testCoordinator();
    const start = t.clock.now();
    await send(t, "p1", [{ endpoint: "primary", ok: true, at: start }]);
    await t.clock.advance(10_000);
    await send(t, "p1", [{ endpoint: "primary", ok: true, at: start + 10_000 }]);
    await t.clock.advance(10_000);
    // Listed first but newest: the success counts; the older failure listed after it does not.
    await send(t, "p1", [
      { endpoint: "primary", ok: true, at: start + 20_000 },
      { endpoint: "primary", ok: false, at: start + 15_000 },
    ]);
    const track = t.coordinator.track("p1", "web", "primary");
    // The success streak stops at recoverAfter (2); a counted failure would have reset it to 0.
    expect(track).toMatchObject({ fails: 0, oks: 2, vote: "up" });
    expect(track?.last?.checkedAt).toBe(new Date(start + 20_000).toISOString());
    t.coordinator.stop();
  });
});

describe("results older than the one already folded", () => {
  it("are ignored: no streak change, and they do not keep the vote fresh", async () => {
    const t = await testCoordinator();
    const start = t.clock.now();
    for (let i = 0; i < 3; i++) {
      await send(t, "p1", [{ endpoint: "primary", ok: false, at: t.clock.now() }]);
      await t.clock.advance(10_000);
    }
    expect(t.coordinator.track("p1", "web", "primary")).toMatchObject({ fails: 3, vote: "down" });
    const folded = t.coordinator.track("p1", "web", "primary");
    // A late, reordered delivery of an older check: ignored.
    await send(t, "p1", [{ endpoint: "primary", ok: true, at: start + 5_000 }]);
    expect(t.coordinator.track("p1", "web", "primary")).toEqual(folded);
    // Only such old results for 3 intervals: the vote lapses as if nothing came.
    for (let i = 0; i < 3; i++) {
      await t.clock.advance(10_000);
      await send(t, "p1", [{ endpoint: "primary", ok: false, at: start + 1_000 }]);
    }
    await t.clock.advance(1_000);
    expect(t.coordinator.verdicts("web").counted.primary.find((v) => v.probe === "p1")?.vote).toBe("abstain");
    t.coordinator.stop();
  });
});
