import { describe, expect, it } from "vitest";
import { DivergenceWatch } from "../../coordinator/alerts/divergence.ts";
import type { NewEvent, ProviderRouterRow } from "../../coordinator/store/store.ts";
import { ManualClock } from "../../shared/clock.ts";
import { silentLogger } from "../../shared/log.ts";

const ROUTER = "web-router.example.com";
const row = (
  provider: string,
  target: string | null,
  state: ProviderRouterRow["state"],
): ProviderRouterRow => ({
  provider,
  router: ROUTER,
  target,
  state,
  updatedAt: 0,
});

describe("DivergenceWatch", () => {
  it("records dns.diverged once after the threshold and dns.converged when the providers agree again", async () => {
    const clock = new ManualClock();
    let rows = [
      row("cloudflare", "cdn2-front.example.com.", "in-sync"),
      row("desec", "cf-front.example.com.", "error"),
    ];
    const recorded: NewEvent[] = [];
    const watch = new DivergenceWatch({
      states: () => rows,
      services: new Map([[ROUTER, "web"]]),
      record: async (event) => void recorded.push(event),
      clock,
      log: silentLogger,
      thresholdMs: 120_000,
      checkEveryMs: 5000,
    });
    watch.start();
    await clock.advance(115_000);
    expect(recorded).toEqual([]);
    await clock.advance(15_000);
    expect(recorded.map((e) => [e.type, e.service])).toEqual([["dns.diverged", "web"]]);
    expect(recorded[0]?.message).toContain("desec serves cf-front.example.com. (error)");
    await clock.advance(300_000);
    expect(recorded).toHaveLength(1);
    rows = [
      row("cloudflare", "cdn2-front.example.com.", "in-sync"),
      row("desec", "cdn2-front.example.com.", "in-sync"),
    ];
    await clock.advance(5000);
    expect(recorded.map((e) => e.type)).toEqual(["dns.diverged", "dns.converged"]);
    watch.stop();
    expect(clock.pending).toBe(0);
  });

  it("does not alert on the seconds a normal switch takes", async () => {
    const clock = new ManualClock();
    let rows = [row("cloudflare", "b.", "in-sync"), row("desec", "a.", "pending")];
    const recorded: NewEvent[] = [];
    const watch = new DivergenceWatch({
      states: () => rows,
      services: new Map(),
      record: async (e) => void recorded.push(e),
      clock,
      log: silentLogger,
    });
    watch.start();
    await clock.advance(10_000);
    rows = [row("cloudflare", "b.", "in-sync"), row("desec", "b.", "in-sync")];
    await clock.advance(600_000);
    watch.stop();
    expect(recorded).toEqual([]);
  });

  it("ends a divergence reported before a restart (an open dns-diverged episode) once the providers agree", async () => {
    const clock = new ManualClock();
    const rows = [
      row("cloudflare", "cdn2-front.example.com.", "in-sync"),
      row("desec", "cdn2-front.example.com.", "in-sync"),
    ];
    const recorded: NewEvent[] = [];
    const watch = (reported: string[]) =>
      new DivergenceWatch({
        states: () => rows,
        services: new Map([[ROUTER, "web"]]),
        record: async (event) => void recorded.push(event),
        clock,
        log: silentLogger,
        reported,
      });
    await watch([]).check();
    expect(recorded).toEqual([]);
    await watch([ROUTER]).check();
    expect(recorded.map((e) => [e.type, e.service])).toEqual([["dns.converged", "web"]]);
  });
});
