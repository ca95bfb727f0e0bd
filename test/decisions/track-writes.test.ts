import { afterEach, describe, expect, it } from "vitest";
import { MemoryStore } from "../../coordinator/store/memory.ts";
import type { AuditEvent, Commit } from "../../coordinator/store/store.ts";
import { ManualClock } from "../../shared/clock.ts";
import { configFromObject } from "../../shared/config.ts";
import { applyResult, type EndpointTrack, emptyTrack } from "../../shared/quorum.ts";
import { configObject, testCoordinator } from "../helpers.ts";

const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

/** The vote as the rules define it, with streaks that grow without bound: the reference. */
function referenceVote(oks: boolean[], failAfter: number, recoverAfter: number): ("up" | "down" | null)[] {
  let fails = 0;
  let good = 0;
  let vote: "up" | "down" | null = null;
  return oks.map((ok) => {
    fails = ok ? 0 : fails + 1;
    good = ok ? good + 1 : 0;
    if (fails >= failAfter) vote = "down";
    else if (good >= recoverAfter) vote = "up";
    return vote;
  });
}

describe("streak counters stop at their thresholds", () => {
  it("vote exactly as unbounded streaks would, over random sequences, and stay within the thresholds", () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let run = 0; run < 500; run++) {
      const thresholds = {
        failAfter: 1 + Math.floor(random() * 5),
        recoverAfter: 1 + Math.floor(random() * 7),
      };
      // Long runs of one outcome, so streaks pass their thresholds often.
      const sticky = random();
      const oks: boolean[] = [];
      for (let i = 0; i < 60; i++)
        oks.push(i > 0 && random() < sticky ? (oks[i - 1] ?? true) : random() < 0.5);
      const expected = referenceVote(oks, thresholds.failAfter, thresholds.recoverAfter);
      let track: EndpointTrack = emptyTrack();
      oks.forEach((ok, i) => {
        track = applyResult(track, { ok, checkedAt: new Date(i * 1000).toISOString() }, thresholds, i * 1000);
        expect(track.vote).toBe(expected[i]);
        expect(track.fails).toBeLessThanOrEqual(thresholds.failAfter);
        expect(track.oks).toBeLessThanOrEqual(thresholds.recoverAfter);
      });
    }
  });
});

/** A memory store that counts the track rows each commit writes. */
class CountingStore extends MemoryStore {
  trackWrites: number[] = [];
  override commit(change: Commit): Promise<AuditEvent[]> {
    if (change.report) this.trackWrites.push(change.tracks?.length ?? 0);
    return super.commit(change);
  }
}

describe("a track whose standing holds", () => {
  it("is not rewritten by every report; after a restart its older stored seenAt counts, and turns stale sooner, never later", async () => {
    const config = configFromObject(configObject({ probes: 1, service: { failAfter: 3, recoverAfter: 2 } }));
    const store = new CountingStore();
    const clock = new ManualClock();
    const t0 = clock.now();
    const first = await testCoordinator({ config, store, clock });
    stops.push(() => first.coordinator.stop());
    for (let i = 0; i < 6; i++) {
      await first.report("p1", { primary: true, secondary: true });
      await clock.advance(10_000);
    }
    // Counting up to `up` changes the streaks; then an unchanged track waits for its stored seenAt to
    // age two intervals (STALE_INTERVALS - 1): written at 0 s, 10 s and 40 s, skipped at 20, 30 and 50 s.
    expect(store.trackWrites).toEqual([2, 2, 0, 0, 2, 0]);
    expect(first.coordinator.track("p1", "web", "primary")?.seenAt).toBe(t0 + 50_000);
    first.coordinator.stop();

    // Restarted at 60 s after the skipped write of 50 s: the vote stands on the stored 40 s, and counts.
    const second = await testCoordinator({ config, store, clock });
    stops.push(() => second.coordinator.stop());
    const restored = second.coordinator.track("p1", "web", "primary");
    expect(restored).toMatchObject({ vote: "up", oks: 2, fails: 0, seenAt: t0 + 40_000 });
    expect(second.coordinator.verdicts("web").primary.verdict).toBe("up");
    // More than 3 intervals after the stored seenAt, with no report since: stale (no later than the truth would be).
    await clock.advance(11_000);
    expect(second.coordinator.verdicts("web").primary.verdict).toBe("unknown");
  });
});
