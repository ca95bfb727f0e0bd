/** The status page's latency history: rings per series, a bound on all points, reads after a cursor. */
import { describe, expect, it } from "vitest";
import { LatencyHistory } from "../../coordinator/ui/history.ts";

const key = (probe: string, service = "web") => ({ probe, service, endpoint: "primary" as const });
const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

describe("LatencyHistory", () => {
  it("keeps the newest points of each series, oldest first, and skips a point not newer than the last", () => {
    const history = new LatencyHistory({ perSeries: 3 });
    for (let s = 1; s <= 5; s++)
      history.record(key("p1"), { ok: s !== 4, latencyMs: s * 10, checkedAt: at(s) });
    history.record(key("p1"), { ok: true, latencyMs: 999, checkedAt: at(5) }); // the same report again
    history.record(key("p2"), { ok: true, checkedAt: at(1) });
    expect(history.series()).toEqual([
      {
        probe: "p1",
        service: "web",
        endpoint: "primary",
        points: [
          { at: at(3), ok: true, latencyMs: 30 },
          { at: at(4), ok: false, latencyMs: 40 },
          { at: at(5), ok: true, latencyMs: 50 },
        ],
      },
      {
        probe: "p2",
        service: "web",
        endpoint: "primary",
        points: [{ at: at(1), ok: true, latencyMs: null }],
      },
    ]);
  });

  it("answers only what was recorded after a cursor, and only the services asked for", () => {
    const history = new LatencyHistory();
    history.record(key("p1", "a"), { ok: true, latencyMs: 1, checkedAt: at(1) });
    const cursor = history.cursor;
    history.record(key("p1", "a"), { ok: true, latencyMs: 2, checkedAt: at(2) });
    history.record(key("p1", "b"), { ok: true, latencyMs: 3, checkedAt: at(2) });
    expect(history.series({ services: ["a"], after: cursor })).toEqual([
      { probe: "p1", service: "a", endpoint: "primary", points: [{ at: at(2), ok: true, latencyMs: 2 }] },
    ]);
  });

  it("bounds all points together: a large mesh keeps fewer per series, never below 2", () => {
    expect(new LatencyHistory({ expectedSeries: 1_000 }).perSeries).toBe(60);
    expect(new LatencyHistory({ expectedSeries: 240_000 }).perSeries).toBe(4);
    expect(new LatencyHistory({ expectedSeries: 10_000_000 }).perSeries).toBe(2);
  });

  it("grows past the series it expected without losing points", () => {
    const history = new LatencyHistory({ expectedSeries: 1, perSeries: 2 });
    for (let p = 0; p < 40; p++) history.record(key(`p${p}`), { ok: true, latencyMs: p, checkedAt: at(1) });
    const series = history.series();
    expect(series).toHaveLength(40);
    expect(series.map((s) => s.points[0]?.latencyMs)).toEqual(Array.from({ length: 40 }, (_, p) => p));
  });
});
