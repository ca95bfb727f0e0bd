import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Coordinator } from "../../coordinator/coordinator.ts";
import { MemoryDnsProvider } from "../../coordinator/dns/memory.ts";
import type { DnsProvider, RouterChange } from "../../coordinator/dns/provider.ts";
import { SqliteStore } from "../../coordinator/store/sqlite.ts";
import { ReplayError } from "../../coordinator/store/store.ts";
import { ManualClock } from "../../shared/clock.ts";
import { configFromObject } from "../../shared/config.ts";
import { silentLogger } from "../../shared/log.ts";
import { configObject } from "../helpers.ts";

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "hm-store-"));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("SqliteStore", () => {
  it("keeps services, tracks, probes, desired state and events across a reopen", async () => {
    const dir = tempDir();
    const first = new SqliteStore(dir);
    await first.commit({
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
      events: [
        {
          at: 1_700_000_000_000,
          type: "failover",
          service: "web",
          from: "primary",
          to: "secondary",
          message: "m",
          votes: { primary: { up: 0, down: 2, abstain: 1 }, secondary: { up: 3, down: 0, abstain: 0 } },
        },
      ],
    });
    await first.close();
    const second = new SqliteStore(dir);
    const snapshot = await second.snapshot();
    expect(snapshot.services[0]).toMatchObject({
      active: "secondary",
      mode: "pinned",
      held: true,
      primaryUpSince: 3,
    });
    expect(snapshot.tracks[0]?.track).toMatchObject({ vote: "down", seenAt: 41 });
    expect(snapshot.probes[0]).toEqual({ id: "p1", lastSeen: 42, healthy: false, silent: false });
    expect(snapshot.desired[0]?.target).toBe("cdn2.example.com.");
    const [event] = await second.listEvents({});
    expect(event).toMatchObject({
      id: 1,
      at: "2023-11-14T22:13:20.000Z",
      type: "failover",
      votes: { primary: { down: 2 } },
    });
    await second.close();
  });

  it("refuses a replayed report id atomically: nothing else of that commit is written", async () => {
    const store = new SqliteStore(tempDir());
    await store.commit({ report: { probe: "p1", id: "r1", at: 1 } });
    await expect(
      store.commit({
        report: { probe: "p1", id: "r1", at: 2 },
        events: [{ at: 2, type: "x", message: "must not land" }],
      }),
    ).rejects.toBeInstanceOf(ReplayError);
    expect(await store.listEvents({})).toEqual([]);
    await store.commit({ report: { probe: "p2", id: "r1", at: 3 } });
    await store.close();
  });

  it("forgets report ids older than the prune horizon, and only those", async () => {
    const store = new SqliteStore(tempDir());
    await store.commit({ report: { probe: "p1", id: "old", at: 1_000 } });
    await store.commit({ report: { probe: "p1", id: "new", at: 9_000 } });
    await store.pruneReports(5_000);
    await store.commit({ report: { probe: "p1", id: "old", at: 10_000 } });
    await expect(store.commit({ report: { probe: "p1", id: "new", at: 10_000 } })).rejects.toBeInstanceOf(
      ReplayError,
    );
    await store.close();
  });
});

/** A provider whose writes never finish: the coordinator "dies" while this write is in flight. */
class HangingProvider implements DnsProvider {
  readonly name: string;
  writes: RouterChange[][] = [];
  constructor(name: string) {
    this.name = name;
  }
  async readRouters(names: readonly string[]) {
    return new Map(names.map((n) => [n, null]));
  }
  writeRouters(changes: readonly RouterChange[]): Promise<void> {
    this.writes.push([...changes]);
    return new Promise(() => {});
  }
}

describe("restart in the middle of a failover", () => {
  it("loses no decision and converges both providers after the restart", async () => {
    const dir = tempDir();
    const config = configFromObject({
      ...configObject(),
      providers: { memory: {}, cloudflare: { tokenEnv: "CF" } },
    });
    const clock = new ManualClock();
    const memory = new MemoryDnsProvider("memory");
    const cloudflare = new MemoryDnsProvider("cloudflare");
    cloudflare.records.set("web-router.example.com", {
      name: "web-router.example.com",
      type: "CNAME",
      target: "cf-front.example.com.",
      ttl: 60,
    });
    const hanging = new HangingProvider("cloudflare");
    const store1 = new SqliteStore(dir);
    const first = await Coordinator.open({
      config,
      store: store1,
      clock,
      log: silentLogger,
      providers: [memory, hanging],
      random: () => 0.5,
    });
    await clock.advance(0); // not idle(): the Cloudflare write hangs by design
    let seq = 0;
    for (let round = 0; round < 3; round++) {
      for (const probe of ["p1", "p2", "p3"]) {
        const at = new Date(clock.now()).toISOString();
        await first.acceptReport({
          id: `r${++seq}`,
          probe,
          sentAt: at,
          healthy: true,
          results: [
            { service: "web", endpoint: "primary", ok: false, checkedAt: at },
            { service: "web", endpoint: "secondary", ok: true, checkedAt: at },
          ],
        });
      }
      await clock.advance(1000);
    }
    expect(first.service("web").active).toBe("secondary");
    expect(memory.records.get("web-router.example.com")?.target).toBe("cdn2-front.example.com.");
    // The first Cloudflare write (creating the router) hangs; the 10 s request timeout cuts it off
    // and the retry carries the new target, which hangs too.
    await clock.advance(10_000);
    expect(hanging.writes.at(-1)?.[0]?.target).toBe("cdn2-front.example.com.");
    // The process dies here: no close(), no drain; the Cloudflare write never completed.
    first.stop();

    const store2 = new SqliteStore(dir);
    const second = await Coordinator.open({
      config,
      store: store2,
      clock,
      log: silentLogger,
      providers: [memory, cloudflare],
      random: () => 0.5,
    });
    await second.reconciler.idle();
    expect(second.service("web")).toMatchObject({ active: "secondary", mode: "auto" });
    expect(cloudflare.records.get("web-router.example.com")?.target).toBe("cdn2-front.example.com.");
    expect(memory.records.get("web-router.example.com")?.target).toBe("cdn2-front.example.com.");
    expect(second.reconciler.states().map((s) => [s.provider, s.state])).toEqual([
      ["memory", "in-sync"],
      ["cloudflare", "in-sync"],
    ]);
    const events = await store2.listEvents({});
    expect(events.filter((e) => e.type === "failover")).toHaveLength(1);
    const restart = events.filter((e) => e.type === "coordinator.started").at(-1);
    expect(restart?.message).toContain("unfinished DNS work on 1 router");
    second.stop();
    await store2.close();
    await store1.close();
  });
});
