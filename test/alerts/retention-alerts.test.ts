/**
 * Retention never takes what alerting still needs (real SQLite files, fake clock): an event whose
 * message a destination has not delivered outlives `coordinator.retention.events` and goes once it is
 * delivered; an open pager episode whose opening event was pruned is still resolved after a restart.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startAlerts } from "../../coordinator/alerts/alerts.ts";
import { MemoryOutbox, type NewOutboxEntry, type Outbox } from "../../coordinator/alerts/outbox.ts";
import { SqliteOutbox } from "../../coordinator/alerts/outbox-sqlite.ts";
import { Coordinator } from "../../coordinator/coordinator.ts";
import { MemoryDnsProvider } from "../../coordinator/dns/memory.ts";
import { Retention } from "../../coordinator/retention.ts";
import { SqliteStore } from "../../coordinator/store/sqlite.ts";
import { ManualClock } from "../../shared/clock.ts";
import { configFromObject } from "../../shared/config.ts";
import type { Config } from "../../shared/config-schema.ts";
import { silentLogger } from "../../shared/log.ts";
import { PagerDutyStandin } from "../../standins/pagerduty.ts";
import { configObject } from "../helpers.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "hm-retention-alerts-"));
  dirs.push(dir);
  return dir;
}

const MINUTE = 60_000;

/** A coordinator with alerting and retention over the SQLite store in `dir`. */
async function life(options: {
  dir: string;
  config: Config;
  clock: ManualClock;
  fetch: typeof fetch;
  env: (name: string) => string | undefined;
}) {
  const { config, clock } = options;
  const store = new SqliteStore(options.dir);
  const outbox = new SqliteOutbox(store.db);
  const alerts = await startAlerts({
    config,
    env: options.env,
    outbox,
    store,
    fetch: options.fetch,
    clock,
    log: silentLogger,
    retry: { baseMs: MINUTE, maxBackoffMs: MINUTE, maxAttempts: 1000 },
  });
  const coordinator = await Coordinator.open({
    config,
    store,
    clock,
    log: silentLogger,
    providers: [new MemoryDnsProvider("memory")],
    random: () => 0.5,
    onEvents: (events) => alerts.enqueue(events),
  });
  alerts.watch(coordinator);
  const retention = new Retention({
    store,
    outbox,
    eventsDoneThrough: () => alerts.eventsDoneThrough(),
    retention: config.coordinator.retention,
    clock,
    log: silentLogger,
  });
  const settle = async () => {
    await coordinator.reconciler.idle();
    await alerts.episodes.idle();
    await alerts.dispatcher.idle();
  };
  const close = async () => {
    alerts.stop();
    coordinator.stop();
    await settle();
    await store.close();
  };
  return { store, outbox, alerts, coordinator, retention, settle, close };
}

describe("retention and alerting", () => {
  it("keeps an undelivered event past its retention while the destination is down, and prunes it once delivered", async () => {
    const config = configFromObject({
      ...configObject(),
      alerts: [{ type: "webhook", urlEnv: "HOOK", groupWait: "1s" }],
      coordinator: { retention: { events: "10m" } },
    });
    const clock = new ManualClock();
    let down = true;
    const fetch: typeof globalThis.fetch = async () => new Response("", { status: down ? 503 : 200 });
    const run = await life({
      dir: tempDir(),
      config,
      clock,
      fetch,
      env: (name) => (name === "HOOK" ? "http://hook.test/in" : undefined),
    });
    await run.settle();
    await run.coordinator.recordEvent({
      at: clock.now(),
      type: "both-down",
      service: "web",
      message: "Both paths of web are down",
    });
    await clock.advance(1_000);
    await run.settle();
    expect((await run.outbox.list()).map((e) => e.state)).toEqual(["pending"]);
    await clock.advance(30 * MINUTE); // down three times longer than the retention
    await run.settle();
    await run.coordinator.recordEvent({ at: clock.now(), type: "young", message: "A young event" });
    const types = async () => (await run.store.listEvents({})).map((e) => e.type);
    expect(await types()).toContain("coordinator.started");

    await run.retention.catchUp({ maxBatches: 5 });
    // The message waiting for the webhook holds the start's DNS write and the outage: both stay.
    expect(await types()).toEqual(["dns.switched", "both-down", "young"]);

    down = false;
    await clock.advance(MINUTE);
    await run.settle();
    expect((await run.outbox.list()).map((e) => e.state)).toEqual(["sent"]);
    await run.retention.catchUp({ maxBatches: 5 });
    expect(await types()).toEqual(["young"]);
    await run.close();
  });

  it("resolves an open episode after a restart although its opening event was pruned", async () => {
    const dir = tempDir();
    const key = "R0UT1NGKEY0123456789abcdef012345";
    const config = configFromObject({
      ...configObject({ service: { failAfter: 1, recoverAfter: 1, holdDown: "0s" } }),
      alerts: [{ type: "pagerduty", routingKeyEnv: "PD", apiBase: "http://pd.test", groupWait: "1s" }],
      coordinator: { retention: { events: "10m" } },
    });
    const clock = new ManualClock();
    const pd = new PagerDutyStandin({ routingKeys: [key], clock });
    const options = {
      dir,
      config,
      clock,
      fetch: async (input: RequestInfo | URL, init?: RequestInit) =>
        pd.app.request(new URL(String(input)).pathname, init),
      env: (name: string) => (name === "PD" ? key : undefined),
    };
    let seq = 0;
    const round = async (coordinator: Coordinator, up: boolean) => {
      const at = new Date(clock.now()).toISOString();
      for (const probe of ["p1", "p2", "p3"])
        await coordinator.acceptReport({
          id: `r${++seq}`,
          probe,
          sentAt: at,
          healthy: true,
          results: [
            { service: "web", endpoint: "primary", ok: up, checkedAt: at },
            { service: "web", endpoint: "secondary", ok: true, checkedAt: at },
          ],
        });
    };
    const id = "healthmesh:example.com:web:failover";
    let run = await life(options);
    await run.settle();
    await round(run.coordinator, false);
    await clock.advance(1_000);
    await run.settle();
    expect(pd.open(id)?.status).toBe("triggered");

    await clock.advance(20 * MINUTE);
    await run.coordinator.recordEvent({ at: clock.now(), type: "young", message: "A young event" });
    await run.retention.catchUp({ maxBatches: 5 });
    expect((await run.store.listEvents({})).map((e) => e.type)).toEqual(["young"]);
    await run.close();

    run = await life(options);
    await run.settle();
    expect(run.alerts.episodes.open().map((e) => e.id)).toEqual([id]);
    await round(run.coordinator, true);
    expect(run.coordinator.service("web").active).toBe("primary");
    await clock.advance(1_000);
    await run.settle();
    expect(pd.incidents.map((i) => [i.dedupKey, i.status])).toEqual([[id, "resolved"]]);
    expect(run.alerts.episodes.open()).toEqual([]);
    await run.close();
  });
});

function entry(deliveryId: string, key: string, eventIds: number[], createdAt: number): NewOutboxEntry {
  return {
    deliveryId,
    destination: "slack",
    key,
    message: {
      key,
      severity: "critical",
      type: "failover",
      title: deliveryId,
      lines: [],
      facts: [],
      events: [],
    },
    eventIds,
    createdAt,
    nextAt: createdAt,
  };
}

describe.each([
  ["SqliteOutbox", (): Outbox => new SqliteOutbox(new SqliteStore(tempDir()).db)],
  ["MemoryOutbox", (): Outbox => new MemoryOutbox()],
])("%s.prune", (_name, open) => {
  it("forgets settled messages in batches, but keeps pending ones, each group's newest and those past the cursor", async () => {
    const outbox = open();
    await outbox.add(entry("web-1", "web", [1], 100), 1);
    await outbox.add(entry("web-2", "web", [2], 110), 2);
    await outbox.add(entry("api-1", "api", [3], 120), 3);
    await outbox.add(entry("web-3", "web", [4], 130), 4);
    await outbox.add(entry("web-4", "web", [5], 140), 5);
    await outbox.add(entry("web-5", "web", [9], 150), 6); // events 7-8 still wait in a group: cursor 6
    await outbox.add(entry("web-6", "web", [10], 160), 6);
    for (const e of await outbox.list()) if (e.deliveryId !== "web-3") await outbox.markSent(e.id, 1);
    expect(await outbox.prune(1_000, 1)).toBe(1);
    expect(await outbox.prune(1_000)).toBe(2);
    expect(await outbox.prune(1_000)).toBe(0);
    // web-3 is pending, api-1 and web-6 are their groups' newest, web-5 holds event 9 past the cursor.
    expect((await outbox.list()).map((e) => e.deliveryId)).toEqual(["api-1", "web-3", "web-5", "web-6"]);
  });
});
