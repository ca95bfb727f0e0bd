/**
 * The fail-back clock ("primary UP since") lives in the service state: it survives a restart in the
 * SQLite store, and a data dir written before the field existed is migrated on open.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import type { Coordinator } from "../../coordinator/coordinator.ts";
import type { ServiceState } from "../../coordinator/engine.ts";
import { SqliteStore } from "../../coordinator/store/sqlite.ts";
import { ManualClock } from "../../shared/clock.ts";
import { configFromObject } from "../../shared/config.ts";
import { configObject, testCoordinator } from "../helpers.ts";

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "hm-upsince-"));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const config = configFromObject(configObject({ service: { holdDown: "5m", failAfter: 1, recoverAfter: 1 } }));

/** A report with both paths good (ids that the first coordinator's helper never used). */
function upReport(coordinator: Coordinator, probe: string, now: number) {
  const at = new Date(now).toISOString();
  return coordinator.acceptReport({
    id: `after-restart-${probe}-${now}`,
    probe,
    sentAt: at,
    healthy: true,
    results: [
      { service: "web", endpoint: "primary", ok: true, checkedAt: at },
      { service: "web", endpoint: "secondary", ok: true, checkedAt: at },
    ],
  });
}

describe("primary UP since, in the SQLite store", () => {
  it("keeps counting the fail-back window across a restart", async () => {
    const dir = tempDir();
    const clock = new ManualClock();
    const first = await testCoordinator({ config, clock, store: new SqliteStore(dir) });
    for (const probe of ["p1", "p2", "p3"]) await first.report(probe, { primary: false, secondary: true });
    expect(first.coordinator.service("web").active).toBe("secondary");
    await clock.advance(10_000);
    for (const probe of ["p1", "p2", "p3"]) await first.report(probe, { primary: true, secondary: true });
    const upAt = clock.now();
    expect(first.coordinator.service("web").primaryUpSince).toBe(upAt);
    first.coordinator.stop();
    await first.store.close();

    const second = await testCoordinator({ config, clock, store: new SqliteStore(dir) });
    expect(second.coordinator.service("web")).toMatchObject({ active: "secondary", primaryUpSince: upAt });
    // Probes keep the primary UP; the fail-back comes 5 min after it turned UP, not 5 min after the restart.
    while (second.coordinator.service("web").active === "secondary" && clock.now() - upAt < 600_000) {
      await clock.advance(10_000);
      for (const probe of ["p1", "p2", "p3"]) await upReport(second.coordinator, probe, clock.now());
    }
    const failback = second.events.find((e) => e.type === "failback");
    expect(Date.parse(failback?.at ?? "") - upAt).toBe(300_000);
    second.coordinator.stop();
    await second.store.close();
  });

  it("migrates a data dir whose service states predate primaryUpSince and activeDown, and tracks seenAt", async () => {
    const dir = tempDir();
    new SqliteStore(dir).close();
    const raw = new Database(join(dir, "healthmesh.db"));
    const old = {
      name: "web",
      active: "secondary" as const,
      mode: "auto" as const,
      lastSwitchAt: 5,
      bothDown: false,
      held: true,
    };
    raw.prepare("INSERT INTO services (name, state) VALUES (?, ?)").run("web", JSON.stringify(old));
    // A track from before per-endpoint staleness: its time is the probe's last report.
    const oldTrack = { fails: 3, oks: 0, vote: "down" };
    raw
      .prepare("INSERT INTO tracks VALUES (?, ?, ?, ?)")
      .run("p1", "web", "primary", JSON.stringify(oldTrack));
    raw
      .prepare("INSERT INTO tracks VALUES (?, ?, ?, ?)")
      .run("p9", "web", "primary", JSON.stringify(oldTrack));
    raw
      .prepare("INSERT INTO probes (id, last_seen, healthy, silent) VALUES (?, ?, ?, ?)")
      .run("p1", 42, 1, 0);
    raw.close();

    const store = new SqliteStore(dir);
    const [state] = (await store.snapshot()).services;
    expect(state).toEqual({ ...old, primaryUpSince: null, activeDown: false });
    const tracks = (await store.snapshot()).tracks;
    expect(tracks.find((t) => t.probe === "p1")?.track).toEqual({ ...oldTrack, seenAt: 42 });
    expect(tracks.find((t) => t.probe === "p9")?.track).toEqual({ ...oldTrack, seenAt: null });
    // The migration is idempotent and leaves current rows alone.
    await store.commit({ services: [{ ...old, active: "secondary", primaryUpSince: 7, activeDown: true }] });
    await store.close();
    const again = new SqliteStore(dir);
    expect((await again.snapshot()).services[0]).toMatchObject({ primaryUpSince: 7, activeDown: true });
    await again.close();
  });

  it("HA: a ledger entry written before primaryUpSince existed is adopted with the field's initial value", async () => {
    const t = await testCoordinator({ config });
    const old = {
      name: "web",
      active: "secondary",
      mode: "auto",
      lastSwitchAt: 5,
      bothDown: false,
      held: false,
    };
    // As an older member wrote it to etcd: the current type requires the fields it lacks.
    await t.coordinator.adopt(() => [JSON.parse(JSON.stringify(old)) as ServiceState]);
    expect(t.coordinator.service("web")).toEqual({ ...old, primaryUpSince: null, activeDown: false });
    t.coordinator.stop();
  });
});
