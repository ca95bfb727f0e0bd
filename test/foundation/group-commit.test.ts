/**
 * Group commit of accepted reports (coordinator/group-commit.ts): concurrent reports share one
 * store transaction, each is answered only once its batch is stored, replays are still refused, and
 * a full queue answers 429 with `Retry-After` and changes nothing.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { MemoryStore } from "../../coordinator/store/memory.ts";
import { SqliteStore } from "../../coordinator/store/sqlite.ts";
import { type Commit, type CommitOutcome, ReplayError, type Store } from "../../coordinator/store/store.ts";
import { configFromObject } from "../../shared/config.ts";
import type { Report } from "../../shared/protocol.ts";
import { configObject, sampleReport, signedReportRequest, testCoordinator } from "../helpers.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A memory store whose `commitMany` waits for `open()`, and that notes which report ids are stored. */
class GatedStore extends MemoryStore {
  /** The size of every `commitMany` call, in order. */
  batches: number[] = [];
  stored = new Set<string>();
  #gate: Promise<void> = Promise.resolve();
  #open: () => void = () => {};
  #entered: (() => void) | null = null;

  /** Holds every `commitMany` from now until `open()`. */
  hold(): void {
    this.#gate = new Promise((resolve) => {
      this.#open = resolve;
    });
  }

  release(): void {
    this.#open();
  }

  /** Resolves when the next `commitMany` has begun. */
  entered(): Promise<void> {
    return new Promise((resolve) => {
      this.#entered = resolve;
    });
  }

  override async commitMany(changes: readonly Commit[]): Promise<CommitOutcome[]> {
    this.batches.push(changes.length);
    this.#entered?.();
    await this.#gate;
    const outcomes = await super.commitMany(changes);
    changes.forEach((change, i) => {
      if (change.report && !(outcomes[i] instanceof ReplayError)) this.stored.add(change.report.id);
    });
    return outcomes;
  }
}

async function coordinatorOver(store: Store, options: { probes?: number; maxWaitingReports?: number } = {}) {
  const config = configFromObject(configObject({ probes: options.probes ?? 12 }));
  const t = await testCoordinator({
    config,
    store,
    ...(options.maxWaitingReports ? { maxWaitingReports: options.maxWaitingReports } : {}),
  });
  cleanups.push(() => t.coordinator.stop());
  return t;
}

function down(probe: string, nowMs: number, id: string): Report {
  // sampleReport types its id as a UUID; any string is a valid report id on the wire
  return { ...sampleReport(probe, nowMs), id };
}

describe("group commit of reports", () => {
  it("stores concurrent reports in fewer transactions than reports, and settles each only after its batch is stored", async () => {
    const store = new GatedStore();
    const { coordinator, clock } = await coordinatorOver(store);
    const settled: string[] = [];
    const accept = (report: Report) =>
      coordinator.acceptReport(report).then(() => {
        // The answer (a 202) may go out only for a stored report.
        expect(store.stored.has(report.id)).toBe(true);
        settled.push(report.id);
      });

    store.hold();
    const entered = store.entered();
    const first = accept(down("p1", clock.now(), "first"));
    await entered;
    // While the first batch is being stored, 12 probes send two reports each.
    const rest: Promise<void>[] = [];
    for (let round = 1; round <= 2; round++)
      for (let p = 1; p <= 12; p++) rest.push(accept(down(`p${p}`, clock.now(), `p${p}-r${round}`)));
    expect(settled).toEqual([]);
    store.release();
    await Promise.all([first, ...rest]);

    // One probe's reports fold in order, one per batch: [first] [12 first rounds] [12 second rounds].
    expect(store.batches).toEqual([1, 12, 12]);
    expect(settled).toHaveLength(25);
    expect(coordinator.track("p1", "web", "primary")?.fails).toBe(3);
    expect(coordinator.probe("p12")?.lastSeen).toBe(clock.now());
  });

  it("refuses a second report with an id already accepted, in the same burst, as a replay", async () => {
    const store = new GatedStore();
    const { coordinator, clock, app } = await coordinatorOver(store);
    const report = down("p1", clock.now(), "same-id");
    const answers = await Promise.all([
      app.request(await signedReportRequest(report, { nowMs: clock.now() })),
      app.request(await signedReportRequest(report, { nowMs: clock.now() })),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([202, 401]);
    const refused = answers.find((a) => a.status === 401);
    expect(await refused?.json()).toMatchObject({ error: { code: "replayed" } });
    expect(coordinator.track("p1", "web", "primary")?.fails).toBe(1);
  });

  it("numbers the events of a batch consecutively, in decision order, and the listeners see that order", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hm-group-commit-"));
    const store = new SqliteStore(dir);
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const { coordinator, clock } = await coordinatorOver(store, { probes: 3 });
    // Three rounds of failures from three probes at once: the third round tips the primary DOWN.
    for (let round = 1; round <= 3; round++) {
      await Promise.all(
        ["p1", "p2", "p3"].map((p) => coordinator.acceptReport(down(p, clock.now(), `${p}-${round}`))),
      );
      await clock.advance(1_000);
    }
    await coordinator.reconciler.idle();
    const events = await store.listEvents({});
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => (events[0]?.id ?? 0) + i));
    expect(events.filter((e) => e.type === "failover")).toHaveLength(1);
    expect(coordinator.service("web").active).toBe("secondary");
    await store.close();
  });
});

describe("commitMany", () => {
  const report = (id: string, at: number): Commit => ({
    report: { probe: "p1", id, at },
    probes: [{ id: "p1", lastSeen: at, healthy: true, silent: false }],
    events: [{ at, type: "x", message: id }],
  });

  for (const [name, make] of [
    ["MemoryStore", () => new MemoryStore()],
    [
      "SqliteStore",
      () => {
        const dir = mkdtempSync(join(tmpdir(), "hm-commit-many-"));
        const store = new SqliteStore(dir);
        cleanups.push(() => {
          void store.close();
          rmSync(dir, { recursive: true, force: true });
        });
        return store;
      },
    ],
  ] as const) {
    it(`${name}: writes a batch in order and refuses the second of two equal ids in it, writing nothing of that change`, async () => {
      const store: Store = make();
      await store.commit(report("old", 1));
      const outcomes = await store.commitMany([
        report("a", 2),
        report("a", 3),
        report("old", 4),
        report("b", 5),
      ]);
      expect(outcomes.map((o) => (o instanceof ReplayError ? "replay" : o.map((e) => e.message)))).toEqual([
        ["a"],
        "replay",
        "replay",
        ["b"],
      ]);
      const events = await store.listEvents({});
      expect(events.map((e) => [e.id, e.message])).toEqual([
        [1, "old"],
        [2, "a"],
        [3, "b"],
      ]);
      expect((await store.snapshot()).probes).toEqual([
        { id: "p1", lastSeen: 5, healthy: true, silent: false },
      ]);
      expect(await store.hasReport?.("p1", "b")).toBe(true);
    });
  }
});

describe("backpressure", () => {
  it("answers 429 with Retry-After and a JSON error when too many reports wait, changing nothing", async () => {
    const store = new GatedStore();
    const { coordinator, clock, app } = await coordinatorOver(store, { maxWaitingReports: 2 });
    store.hold();
    const entered = store.entered();
    const waiting = [coordinator.acceptReport(down("p1", clock.now(), "in-flight"))];
    await entered;
    waiting.push(
      coordinator.acceptReport(down("p2", clock.now(), "w1")),
      coordinator.acceptReport(down("p3", clock.now(), "w2")),
    );
    const before = JSON.stringify([
      coordinator.probe("p4") ?? null,
      coordinator.track("p4", "web", "primary"),
    ]);

    const refused = down("p4", clock.now(), "too-many");
    const answer = await app.request(await signedReportRequest(refused, { nowMs: clock.now() }));
    expect(answer.status).toBe(429);
    expect(answer.headers.get("retry-after")).toBe("1");
    const body = (await answer.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("busy");
    expect(body.error.message).toMatch(/^Cannot accept the report now: 2 reports wait/);

    store.release();
    await Promise.all(waiting);
    expect(store.batches).toEqual([1, 2]);
    expect(JSON.stringify([coordinator.probe("p4") ?? null, coordinator.track("p4", "web", "primary")])).toBe(
      before,
    );
    expect(await store.hasReport("p4", "too-many")).toBe(false);
    // Refused, not remembered: the same signed report is accepted once the queue has room.
    const again = await app.request(await signedReportRequest(refused, { nowMs: clock.now() }));
    expect(again.status).toBe(202);
    expect(coordinator.probe("p4")?.lastSeen).toBe(clock.now());
  });
});
