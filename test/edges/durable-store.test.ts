/**
 * The Durable Object store and alert outbox (coordinator/store/durable.ts,
 * coordinator/alerts/outbox-durable.ts) in workerd, on a real SQLite-backed `ctx.storage` persisted
 * to a temp dir, so a restart of the object is a restart of workerd over the same files.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { NewOutboxEntry } from "../../coordinator/alerts/outbox.ts";
import type { Snapshot } from "../../coordinator/store/store.ts";
import type { StoreCall } from "./durable-store-worker.ts";

let script: string;
const dirs: string[] = [];
let mf: Miniflare | null = null;

beforeAll(async () => {
  const bundled = await build({
    entryPoints: [resolve(import.meta.dirname, "durable-store-worker.ts")],
    bundle: true,
    format: "esm",
    platform: "neutral",
    write: false,
  });
  script = bundled.outputFiles[0]?.text ?? "";
});

afterEach(async () => {
  await mf?.dispose();
  mf = null;
});

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function persistDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "healthmesh-durable-store-"));
  dirs.push(dir);
  return dir;
}

/** Starts (or restarts) workerd over `dir`; returns a caller of the object's port methods. */
async function open(dir: string) {
  await mf?.dispose();
  mf = new Miniflare({
    modules: true,
    script,
    compatibilityDate: "2026-04-01",
    durableObjects: { STORE: { className: "StoreObject", useSQLite: true } },
    durableObjectsPersist: dir,
  });
  const worker = mf;
  return async (call: StoreCall) => {
    const answer = await worker.dispatchFetch("http://store/", {
      method: "POST",
      body: JSON.stringify(call),
    });
    // The test Worker answers every call with this envelope.
    return (await answer.json()) as { ok: boolean; value?: unknown; name?: string; message?: string };
  };
}

const failover = {
  at: 1_700_000_000_000,
  type: "failover",
  service: "web",
  from: "primary" as const,
  to: "secondary" as const,
  message: "m",
  votes: { primary: { up: 0, down: 2, abstain: 1 }, secondary: { up: 3, down: 0, abstain: 0 } },
};

describe("DurableStore in workerd", () => {
  it("keeps services, tracks, probes, desired routers, provider states and events across a restart", async () => {
    const dir = persistDir();
    const first = await open(dir);
    const stored = await first({
      op: "commit",
      args: [
        {
          services: [
            {
              name: "web",
              active: "secondary",
              mode: "pinned",
              lastSwitchAt: 5,
              primaryUpSince: 3,
              bothDown: false,
              held: true,
              activeDown: false,
            },
          ],
          tracks: [
            {
              probe: "p1",
              service: "web",
              endpoint: "primary",
              track: { fails: 3, oks: 0, vote: "down", seenAt: 41 },
            },
          ],
          probes: [{ id: "p1", lastSeen: 42, healthy: false, silent: false }],
          desired: [
            { service: "web", router: "web-router.example.com", target: "cdn2.example.com.", decidedAt: 5 },
          ],
          providerStates: [
            {
              provider: "desec",
              router: "web-router.example.com",
              state: "error",
              target: null,
              error: "503",
              updatedAt: 6,
            },
          ],
          events: [failover, { at: 1_700_000_001_000, type: "dns.error", provider: "desec", message: "n" }],
        },
      ],
    });
    expect(stored).toMatchObject({ ok: true, value: [{ id: 1 }, { id: 2 }] });

    const second = await open(dir);
    const snapshot = (await second({ op: "snapshot", args: [] })).value as Snapshot; // the store's own answer
    expect(snapshot.services[0]).toMatchObject({
      active: "secondary",
      mode: "pinned",
      held: true,
      primaryUpSince: 3,
    });
    expect(snapshot.tracks[0]?.track).toMatchObject({ vote: "down", seenAt: 41 });
    expect(snapshot.probes[0]).toEqual({ id: "p1", lastSeen: 42, healthy: false, silent: false });
    expect(snapshot.desired[0]?.target).toBe("cdn2.example.com.");
    expect(snapshot.providerStates[0]).toMatchObject({ state: "error", target: null, error: "503" });
    const events = await second({ op: "listEvents", args: [{}] });
    expect(events.value).toMatchObject([
      { id: 1, at: "2023-11-14T22:13:20.000Z", type: "failover", votes: { primary: { down: 2 } } },
      { id: 2, type: "dns.error", provider: "desec" },
    ]);
    expect((await second({ op: "listEvents", args: [{ afterId: 1 }] })).value).toMatchObject([{ id: 2 }]);
    expect((await second({ op: "listEvents", args: [{ sinceMs: 1_700_000_000_500 }] })).value).toMatchObject([
      { id: 2 },
    ]);
  });

  it("commitMany writes a batch in one transaction, in order, and refuses a replayed id in it without writing any of that change", async () => {
    const dir = persistDir();
    const call = await open(dir);
    const change = (id: string, at: number) => ({
      report: { probe: "p1", id, at },
      probes: [{ id: "p1", lastSeen: at, healthy: true, silent: false }],
      events: [{ at: 1_700_000_000_000 + at, type: "x", message: id }],
    });
    expect((await call({ op: "commit", args: [change("old", 1)] })).ok).toBe(true);
    const batch = [change("a", 2), change("a", 3), change("old", 4), change("b", 5)];
    const outcomes = await call({ op: "commitMany", args: [batch] });
    expect(outcomes).toMatchObject({
      ok: true,
      value: [
        [{ id: 2, message: "a" }],
        { replay: 'Report "a" from probe "p1" was already accepted' },
        { replay: 'Report "old" from probe "p1" was already accepted' },
        [{ id: 3, message: "b" }],
      ],
    });
    const again = await open(dir);
    const events = (await again({ op: "listEvents", args: [{}] })).value as { id: number; message: string }[];
    expect(events.map((e) => [e.id, e.message])).toEqual([
      [1, "old"],
      [2, "a"],
      [3, "b"],
    ]);
    const snapshot = (await again({ op: "snapshot", args: [] })).value as Snapshot;
    expect(snapshot.probes).toEqual([{ id: "p1", lastSeen: 5, healthy: true, silent: false }]);
    expect((await again({ op: "hasReport", args: ["p1", "b"] })).value).toBe(true);
  });

  it("refuses a replayed report id atomically, before and after a restart: nothing else of that commit is written", async () => {
    const dir = persistDir();
    const call = await open(dir);
    expect((await call({ op: "commit", args: [{ report: { probe: "p1", id: "r1", at: 1 } }] })).ok).toBe(
      true,
    );
    const replay = {
      report: { probe: "p1", id: "r1", at: 2 },
      services: [
        {
          name: "web",
          active: "secondary" as const,
          mode: "auto" as const,
          lastSwitchAt: 2,
          primaryUpSince: null,
          bothDown: false,
          held: false,
          activeDown: false,
        },
      ],
      events: [{ at: 2, type: "x", message: "must not land" }],
    };
    expect(await call({ op: "commit", args: [replay] })).toMatchObject({ ok: false, name: "ReplayError" });
    expect((await call({ op: "commit", args: [{ report: { probe: "p2", id: "r1", at: 3 } }] })).ok).toBe(
      true,
    );

    const again = await open(dir);
    expect(await again({ op: "commit", args: [replay] })).toMatchObject({ ok: false, name: "ReplayError" });
    expect((await again({ op: "listEvents", args: [{}] })).value).toEqual([]);
    expect(((await again({ op: "snapshot", args: [] })).value as Snapshot).services).toEqual([]); // the store's own answer
  });

  it("forgets report ids older than the prune horizon, and only those", async () => {
    const call = await open(persistDir());
    await call({ op: "commit", args: [{ report: { probe: "p1", id: "old", at: 1_000 } }] });
    await call({ op: "commit", args: [{ report: { probe: "p1", id: "new", at: 9_000 } }] });
    expect((await call({ op: "hasReport", args: ["p1", "old"] })).value).toBe(true);
    await call({ op: "pruneReports", args: [5_000] });
    expect((await call({ op: "hasReport", args: ["p1", "old"] })).value).toBe(false);
    expect((await call({ op: "hasReport", args: ["p1", "new"] })).value).toBe(true);
    expect((await call({ op: "hasReport", args: ["p2", "new"] })).value).toBe(false);
    expect(
      (await call({ op: "commit", args: [{ report: { probe: "p1", id: "old", at: 10_000 } }] })).ok,
    ).toBe(true);
    expect(
      await call({ op: "commit", args: [{ report: { probe: "p1", id: "new", at: 10_000 } }] }),
    ).toMatchObject({
      ok: false,
      name: "ReplayError",
    });
  });

  it("prunes a batch of report ids and a prefix of the audit log; event ids keep counting across a restart", async () => {
    const dir = persistDir();
    const call = await open(dir);
    for (const [id, at] of [
      ["a", 1_000],
      ["b", 2_000],
      ["c", 3_000],
      ["d", 9_000],
    ] as const)
      await call({ op: "commit", args: [{ report: { probe: "p1", id, at } }] });
    expect((await call({ op: "pruneReports", args: [5_000, 2] })).value).toBe(2);
    expect((await call({ op: "hasReport", args: ["p1", "a"] })).value).toBe(false);
    expect((await call({ op: "hasReport", args: ["p1", "c"] })).value).toBe(true);
    expect((await call({ op: "pruneReports", args: [5_000] })).value).toBe(1);
    expect((await call({ op: "hasReport", args: ["p1", "d"] })).value).toBe(true);

    const at = [1_000, 2_000, 9_000, 3_000];
    await call({
      op: "commit",
      args: [{ events: at.map((ms) => ({ at: ms, type: "x", message: `${ms}` })) }],
    });
    expect(
      (await call({ op: "pruneEvents", args: [{ beforeMs: 5_000, throughId: 99, limit: 10 }] })).value,
    ).toBe(2);
    const again = await open(dir);
    expect(
      (await again({ op: "pruneEvents", args: [{ beforeMs: 10_000, throughId: 3, limit: 10 }] })).value,
    ).toBe(1);
    expect(
      (await again({ op: "pruneEvents", args: [{ beforeMs: 10_000, throughId: 99, limit: 10 }] })).value,
    ).toBe(1);
    const stored = await again({
      op: "commit",
      args: [{ events: [{ at: 11_000, type: "x", message: "next" }] }],
    });
    expect((stored.value as { id: number }[]).map((e) => e.id)).toEqual([5]); // commit() answers the stored events
  });

  it("migrates service states and tracks written before primaryUpSince, activeDown and seenAt existed", async () => {
    const dir = persistDir();
    const first = await open(dir);
    const old = {
      name: "web",
      active: "secondary",
      mode: "auto",
      lastSwitchAt: 5,
      bothDown: false,
      held: true,
    };
    // A row as an older healthmesh wrote it: the current type requires the fields it lacks.
    const oldTrack = {
      probe: "p1",
      service: "web",
      endpoint: "primary",
      track: { fails: 3, oks: 0, vote: "down" },
    };
    const probes = [{ id: "p1", lastSeen: 42, healthy: true, silent: false }];
    const commit = { services: [old], tracks: [oldTrack], probes };
    const call = JSON.parse(JSON.stringify({ op: "commit", args: [commit] })) as StoreCall;
    expect((await first(call)).ok).toBe(true);
    const second = await open(dir);
    const snapshot = (await second({ op: "snapshot", args: [] })).value as Snapshot; // the store's own answer
    expect(snapshot.services).toEqual([{ ...old, primaryUpSince: null, activeDown: false }]);
    expect(snapshot.tracks).toEqual([{ ...oldTrack, track: { ...oldTrack.track, seenAt: 42 } }]);
  });
});

function entry(deliveryId: string, eventIds: number[], createdAt: number): NewOutboxEntry {
  return {
    deliveryId,
    destination: "slack",
    key: "web",
    message: {
      key: "web",
      severity: "critical",
      type: "failover",
      title: "t",
      lines: [{ at: "2026-01-01T00:00:00.000Z", type: "failover", text: "x" }],
      facts: [],
      events: [],
    },
    eventIds,
    createdAt,
    nextAt: createdAt,
  };
}

describe("DurableOutbox in workerd", () => {
  it("queues, delivers, reschedules and fails entries, moves cursors forward only, and keeps it all across a restart", async () => {
    const dir = persistDir();
    const call = await open(dir);
    await call({ op: "outbox.initCursor", args: ["slack", 3] });
    await call({ op: "outbox.initCursor", args: ["slack", 1] });
    expect((await call({ op: "outbox.cursors", args: [] })).value).toEqual({ slack: 3 });
    const added = await call({ op: "outbox.add", args: [entry("d1", [4, 5], 100), 5] });
    expect(added.value).toMatchObject({ id: 1, deliveryId: "d1", attempts: 0, state: "pending" });
    await call({ op: "outbox.add", args: [entry("d2", [7], 200), 7] });
    await call({ op: "outbox.add", args: [entry("d3", [8], 300), 8] });
    await call({ op: "outbox.advanceCursor", args: ["slack", 6] });
    expect((await call({ op: "outbox.cursors", args: [] })).value).toEqual({ slack: 8 });
    await call({ op: "outbox.markSent", args: [1, 1] });
    await call({ op: "outbox.reschedule", args: [2, { nextAt: 900, attempts: 2, error: "HTTP 503" }] });
    await call({ op: "outbox.markFailed", args: [3, { attempts: 5, error: "HTTP 404" }] });

    const again = await open(dir);
    expect((await again({ op: "outbox.pending", args: ["slack"] })).value).toMatchObject([
      { id: 2, nextAt: 900, attempts: 2, lastError: "HTTP 503", state: "pending" },
    ]);
    expect((await again({ op: "outbox.takenEventIds", args: ["slack", 4] })).value).toEqual([5, 7, 8]);
    expect((await again({ op: "outbox.lastCreated", args: ["slack"] })).value).toEqual({
      web: { at: 300, severity: "critical", types: ["failover"] },
    });
    await again({ op: "outbox.prune", args: [250] });
    const left = (await again({ op: "outbox.list", args: [] })).value as {
      deliveryId: string;
      state: string;
    }[]; // list() entries
    expect(left.map((e) => [e.deliveryId, e.state])).toEqual([
      ["d2", "pending"],
      ["d3", "failed"],
    ]);
  });
});
