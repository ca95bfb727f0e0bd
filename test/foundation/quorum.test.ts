import { describe, expect, it } from "vitest";
import {
  applyResult,
  type CountedVote,
  effectiveVote,
  emptyTrack,
  newestPerEndpoint,
  olderThanFolded,
  verdictOf,
} from "../../shared/quorum.ts";

const thresholds = { failAfter: 3, recoverAfter: 2 };
const at = "2026-01-01T00:00:00.000Z";
const feed = (oks: boolean[]) =>
  oks.reduce((track, ok) => applyResult(track, { ok, checkedAt: at }, thresholds, 100_000), emptyTrack());

describe("per-probe votes", () => {
  it.each([
    { results: [false, false], vote: null, why: "two failures are below failAfter 3" },
    { results: [false, false, false], vote: "down", why: "three failures in a row reach failAfter" },
    { results: [false, false, true, false], vote: null, why: "a success resets the failure streak" },
    { results: [true, true], vote: "up", why: "two successes reach recoverAfter 2" },
    {
      results: [false, false, false, true],
      vote: "down",
      why: "one success keeps the last vote (hysteresis)",
    },
    { results: [false, false, false, true, true], vote: "up", why: "recoverAfter successes flip it back up" },
    { results: [true, true, false, false], vote: "up", why: "two failures keep the up vote" },
  ])("$why", ({ results, vote }) => {
    expect(feed(results).vote).toBe(vote);
  });

  const fresh = { now: 100_000, intervalMs: 10_000 };
  it("abstains when the probe never reported", () => {
    expect(effectiveVote(feed([false, false, false]), { lastSeen: null, healthy: true }, fresh)).toBe(
      "abstain",
    );
  });
  it("abstains when the latest report is older than 3 intervals", () => {
    expect(
      effectiveVote(feed([false, false, false]), { lastSeen: 100_000 - 30_001, healthy: true }, fresh),
    ).toBe("abstain");
    expect(
      effectiveVote(feed([false, false, false]), { lastSeen: 100_000 - 30_000, healthy: true }, fresh),
    ).toBe("down");
  });
  it("abstains when the probe reports itself unhealthy", () => {
    expect(effectiveVote(feed([false, false, false]), { lastSeen: 100_000, healthy: false }, fresh)).toBe(
      "abstain",
    );
  });
  it("abstains before its first streak reaches a threshold", () => {
    expect(effectiveVote(feed([false]), { lastSeen: 100_000, healthy: true }, fresh)).toBe("abstain");
  });
  it("abstains when its latest result for this endpoint is older than 3 intervals, though the probe reports", () => {
    const track = { ...feed([false, false, false]), seenAt: 100_000 - 30_001 };
    expect(effectiveVote(track, { lastSeen: 100_000, healthy: true }, fresh)).toBe("abstain");
    expect(
      effectiveVote({ ...track, seenAt: 100_000 - 30_000 }, { lastSeen: 100_000, healthy: true }, fresh),
    ).toBe("down");
    expect(effectiveVote({ ...track, seenAt: null }, { lastSeen: 100_000, healthy: true }, fresh)).toBe(
      "abstain",
    );
  });
  it("keeps when the coordinator folded the result, not when the probe checked it", () => {
    expect(applyResult(emptyTrack(), { ok: true, checkedAt: at }, thresholds, 123).seenAt).toBe(123);
  });
});

describe("which results of a report count", () => {
  const r = (endpoint: "primary" | "secondary", ok: boolean, second: number) => ({
    service: "web",
    endpoint,
    ok,
    checkedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString(),
  });
  it("keeps one result per endpoint: the newest by checkedAt, the later one on a tie", () => {
    const newest = newestPerEndpoint([
      r("primary", false, 3),
      r("secondary", true, 1),
      r("primary", true, 1),
    ]);
    expect(newest).toEqual([r("primary", false, 3), r("secondary", true, 1)]);
    const tie = [r("primary", false, 2), r("primary", true, 2)];
    expect(newestPerEndpoint(tie)).toEqual([r("primary", true, 2)]);
    expect(
      newestPerEndpoint([{ ...r("primary", true, 1), service: "api" }, r("primary", true, 1)]),
    ).toHaveLength(2);
  });
  it("calls a result older than the folded one older, and an equal or newer one not", () => {
    const track = applyResult(emptyTrack(), r("primary", false, 5), thresholds, 0);
    expect(olderThanFolded(track, r("primary", true, 4).checkedAt)).toBe(true);
    expect(olderThanFolded(track, r("primary", true, 5).checkedAt)).toBe(false);
    expect(olderThanFolded(track, r("primary", true, 6).checkedAt)).toBe(false);
    expect(olderThanFolded(undefined, r("primary", true, 6).checkedAt)).toBe(false);
  });
});

const votes = (spec: string, providers?: string): CountedVote[] =>
  [...spec].map((c, i) => ({
    probe: `p${i}`,
    provider: providers?.[i] ?? `e${i}`,
    vote: c === "d" ? "down" : c === "u" ? "up" : "abstain",
  }));

describe("verdictOf() majority of configured probes", () => {
  it.each([
    { spec: "dd-", verdict: "down", why: "2 of 3 down" },
    { spec: "d--", verdict: "unknown", why: "1 of 3 down and 2 silent is no majority" },
    { spec: "dd--", verdict: "unknown", why: "2 of 4 is exactly half, not more" },
    { spec: "ddd--", verdict: "down", why: "3 of 5 down" },
    { spec: "uu-", verdict: "up", why: "2 of 3 up" },
    { spec: "dud", verdict: "down", why: "2 down 1 up" },
    { spec: "---", verdict: "unknown", why: "all abstain" },
    { spec: "d", verdict: "down", why: "a single configured probe is its own majority" },
  ])("$why → $verdict", ({ spec, verdict }) => {
    expect(verdictOf(votes(spec), "majority").verdict).toBe(verdict);
  });

  it("reports the tally over every configured probe", () => {
    expect(verdictOf(votes("dd-u"), "majority").votes).toEqual({ down: 2, up: 1, abstain: 1 });
  });
});

describe("verdictOf() majority of edge providers", () => {
  it.each([
    {
      spec: "dd-d",
      providers: "aabb",
      verdict: "unknown",
      why: "provider a down, provider b split 1 of 2 → 1 of 2 providers",
    },
    {
      spec: "dddd-",
      providers: "aabbc",
      verdict: "down",
      why: "a and b down, c abstains → 2 of 3 providers",
    },
    {
      spec: "ddd--",
      providers: "aaabc",
      verdict: "unknown",
      why: "three probes on one provider are one provider's vote",
    },
    {
      spec: "dddu",
      providers: "aaab",
      verdict: "unknown",
      why: "1 down provider, 1 up provider → no majority of 2",
    },
    {
      spec: "d-d-d",
      providers: "abcab",
      verdict: "unknown",
      why: "a split (1 of 2), b split (1 of 2), c down: 1 of 3 providers",
    },
    {
      spec: "ddudd",
      providers: "abcab",
      verdict: "down",
      why: "a down (2 of 2), b down (2 of 2), c up: 2 of 3",
    },
  ])("$why → $verdict", ({ spec, providers, verdict }) => {
    expect(verdictOf(votes(spec, providers), "providers").verdict).toBe(verdict);
  });
});
