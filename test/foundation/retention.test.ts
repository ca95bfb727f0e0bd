/**
 * Retention (`coordinator.retention`): the audit log and the accepted report ids are pruned in the
 * background, in bounded batches, on a real SQLite file; event ids keep counting and `/v1/events`
 * pages what is left; a report id is remembered across a restart for the configured window only.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Retention, type RetentionOptions } from "../../coordinator/retention.ts";
import { MemoryStore } from "../../coordinator/store/memory.ts";
import { SqliteStore } from "../../coordinator/store/sqlite.ts";
import type { AuditEvent, Store } from "../../coordinator/store/store.ts";
import { ManualClock } from "../../shared/clock.ts";
import { configFromObject } from "../../shared/config.ts";
import type { Config } from "../../shared/config-schema.ts";
import { silentLogger } from "../../shared/log.ts";
import { configObject, sampleReport, signedReportRequest, TOKEN, testCoordinator } from "../helpers.ts";

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "hm-retention-"));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const HOUR = 3_600_000;

function retentionConfig(retention: Record<string, string>): Config {
  return configFromObject({ ...configObject(), coordinator: { retention } });
}

/** Lets the background pruning run its backlog: each batch is due at once on the next timer turn. */
async function drain(clock: ManualClock, retention: Retention): Promise<void> {
  for (let turn = 0; turn < 10; turn++) {
    await clock.advance(0);
    await retention.idle();
  }
}

function retentionOf(store: RetentionOptions["store"], config: Config, clock: ManualClock, batch?: number) {
  return new Retention({
    store,
    retention: config.coordinator.retention,
    clock,
    log: silentLogger,
    ...(batch !== undefined ? { batch } : {}),
  });
}

describe.each([
  ["SqliteStore", () => new SqliteStore(tempDir())],
  ["MemoryStore", () => new MemoryStore()],
])("%s.pruneEvents", (_name, open) => {
  it("forgets only the leading events past the horizon, at most `limit`, and ids keep counting", async () => {
    const store = open();
    const at = [1_000, 2_000, 9_000, 3_000, 10_000];
    await store.commit({ events: at.map((ms, i) => ({ at: ms, type: "x", message: `e${i + 1}` })) });
    expect(await store.pruneEvents({ beforeMs: 5_000, throughId: 99, limit: 1 })).toBe(1);
    // Event 4 is old too, but event 3 before it is young: only a prefix goes, so ids stay consecutive.
    expect(await store.pruneEvents({ beforeMs: 5_000, throughId: 99, limit: 10 })).toBe(1);
    expect((await store.listEvents({})).map((e) => e.id)).toEqual([3, 4, 5]);
    expect(await store.pruneEvents({ beforeMs: 20_000, throughId: 3, limit: 10 })).toBe(1);
    expect(await store.pruneEvents({ beforeMs: 20_000, throughId: 99, limit: 10 })).toBe(2);
    const [next] = await store.commit({ events: [{ at: 11_000, type: "x", message: "e6" }] });
    expect(next?.id).toBe(6);
    expect((await store.listEvents({})).map((e) => e.id)).toEqual([6]);
    await store.close();
  });
});

describe("background retention of the audit log", () => {
  it("forgets events older than coordinator.retention.events after the background prune; /v1/events pages the rest", async () => {
    const config = retentionConfig({ events: "1h" });
    const store = new SqliteStore(tempDir());
    const t = await testCoordinator({ config, store });
    for (let i = 1; i <= 9; i++)
      await t.coordinator.recordEvent({ at: t.clock.now(), type: "old", message: `old ${i}` });
    await t.clock.advance(2 * HOUR);
    for (let i = 1; i <= 7; i++)
      await t.coordinator.recordEvent({ at: t.clock.now(), type: "new", message: `new ${i}` });
    const retention = retentionOf(store, config, t.clock, 4);
    retention.start();
    await drain(t.clock, retention);
    retention.stop();

    const events = async (query: string) => {
      const response = await t.app.request(`/v1/events${query}`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(response.status).toBe(200);
      return (await response.json()) as { events: AuditEvent[]; more: boolean };
    };
    const all = await events("");
    // The start event and the 9 old ones (ids 1-10) are gone; the young ones keep their ids.
    expect(all.events.map((e) => e.message)).toEqual([1, 2, 3, 4, 5, 6, 7].map((i) => `new ${i}`));
    const ids = all.events.map((e) => e.id);
    const oldest = ids[0] ?? 0;
    expect(ids).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => oldest + i));
    const newest = await events("?limit=3");
    expect(newest).toEqual({ events: all.events.slice(4), more: false });
    const first = await events("?after=0&limit=3");
    expect(first).toEqual({ events: all.events.slice(0, 3), more: true });
    const second = await events(`?after=${oldest + 2}&limit=3`);
    expect(second).toEqual({ events: all.events.slice(3, 6), more: true });
    const since = await events(`?since=${new Date(t.clock.now() - 3 * HOUR).toISOString()}`);
    expect(since.events.map((e) => e.id)).toEqual(all.events.map((e) => e.id));
    await store.close();
  });

  it("clears a backlog in batches of at most `batch` rows, one timer turn each, and then waits a minute", async () => {
    const config = retentionConfig({ events: "1h" });
    const clock = new ManualClock();
    const store = new MemoryStore();
    await store.commit({
      events: Array.from({ length: 25 }, (_, i) => ({ at: clock.now(), type: "old", message: `${i}` })),
    });
    await clock.advance(2 * HOUR);
    const batches: number[] = [];
    const counted = {
      pruneEvents: async (rule: Parameters<Store["pruneEvents"]>[0]) => {
        const gone = await store.pruneEvents(rule);
        batches.push(gone);
        return gone;
      },
      pruneReports: (beforeMs: number, limit?: number) => store.pruneReports(beforeMs, limit),
    };
    const retention = retentionOf(counted, config, clock, 10);
    retention.start();
    await drain(clock, retention);
    expect(batches).toEqual([10, 10, 5]);
    expect(await store.listEvents({})).toEqual([]);
    await clock.advance(59_999);
    expect(batches).toHaveLength(3);
    await clock.advance(1);
    await retention.idle();
    expect(batches).toEqual([10, 10, 5, 0]);
    retention.stop();
  });
});

describe("report ids under coordinator.retention.reportIds", () => {
  it("refuses a replay within the window across a restart, and forgets the id after it", async () => {
    const dir = tempDir();
    const config = retentionConfig({ reportIds: "5m" });
    const clock = new ManualClock();
    const post = async (t: Awaited<ReturnType<typeof testCoordinator>>) =>
      (
        await t.app.request(
          await signedReportRequest(sampleReport("p1", clock.now(), "00000000-0000-4000-8000-000000000001"), {
            nowMs: clock.now(),
          }),
        )
      ).status;
    const life = async () => {
      const store = new SqliteStore(dir);
      const t = await testCoordinator({ config, store, clock });
      const retention = retentionOf(store, config, clock);
      retention.start();
      return { t, store, retention };
    };
    let run = await life();
    expect(await post(run.t)).toBe(202);
    run.retention.stop();
    run.t.coordinator.stop();
    await run.store.close();

    run = await life();
    await clock.advance(4 * 60_000);
    await run.retention.idle();
    expect(await post(run.t)).toBe(401);
    await clock.advance(2 * 60_000); // 6 minutes after it was accepted: past the 5-minute window
    await run.retention.idle();
    expect(await post(run.t)).toBe(202);
    run.retention.stop();
    run.t.coordinator.stop();
    await run.store.close();
  });
});

describe("coordinator.retention in the config", () => {
  it("defaults to 90 days of events, 10 minutes of report ids and 7 days of settled alerts", () => {
    expect(configFromObject(configObject()).coordinator.retention).toEqual({
      events: 90 * 24 * HOUR,
      reportIds: 600_000,
      alerts: 7 * 24 * HOUR,
    });
    expect(retentionConfig({ events: "30d", reportIds: "2m", alerts: "12h" }).coordinator.retention).toEqual({
      events: 30 * 24 * HOUR,
      reportIds: 120_000,
      alerts: 12 * HOUR,
    });
  });

  it("refuses report ids kept for less than twice the signature skew, naming the path and the reason", () => {
    expect(() => retentionConfig({ reportIds: "90s" })).toThrow(
      /coordinator\.retention\.reportIds: Keep report ids at least 120s: a signed report is accepted up to 60s either side/,
    );
  });

  it("names the path of a bad duration and of an unknown key", () => {
    expect(() => retentionConfig({ events: "forever" })).toThrow(
      /coordinator\.retention\.events: Invalid duration "forever"/,
    );
    expect(() => retentionConfig({ events: "30s" })).toThrow(
      /coordinator\.retention\.events: Duration "30s" is below/,
    );
    expect(() => retentionConfig({ audit: "1d" })).toThrow(
      /coordinator\.retention: Unrecognized key: "audit"/,
    );
  });
});
