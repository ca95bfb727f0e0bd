/**
 * Keeping the book of open episodes true: an episode whose closing event this coordinator never saw
 * (in a cluster another member recorded it) is forgotten once the service state says it is over, and
 * in a cluster only the leader re-posts open episodes to Alertmanager.
 */
import { describe, expect, it } from "vitest";
import type { PostableAlert } from "../../coordinator/alerts/alertmanager.ts";
import { startAlerts } from "../../coordinator/alerts/alerts.ts";
import { MemoryOutbox } from "../../coordinator/alerts/outbox.ts";
import { Coordinator } from "../../coordinator/coordinator.ts";
import { MemoryDnsProvider } from "../../coordinator/dns/memory.ts";
import { MemoryStore } from "../../coordinator/store/memory.ts";
import type { ClusterStatus } from "../../shared/api-schema.ts";
import { ManualClock } from "../../shared/clock.ts";
import { configFromObject } from "../../shared/config.ts";
import { silentLogger } from "../../shared/log.ts";
import { configObject } from "../helpers.ts";
import { recordingFetch } from "./receivers.ts";

async function setUp(cluster?: () => ClusterStatus) {
  const config = configFromObject({
    ...configObject(),
    alerts: [{ type: "alertmanager", urls: ["http://am.test"], groupWait: "1s", resendInterval: "1m" }],
  });
  const clock = new ManualClock();
  const store = new MemoryStore();
  const outbox = new MemoryOutbox();
  const http = recordingFetch(() => new Response("", { status: 200 }));
  const alerts = await startAlerts({
    config,
    env: () => undefined,
    outbox,
    store,
    fetch: http.fetch,
    clock,
    log: silentLogger,
  });
  const coordinator = await Coordinator.open({
    config,
    store,
    clock,
    log: silentLogger,
    providers: [new MemoryDnsProvider("memory")],
    onEvents: (events) => alerts.enqueue(events),
    ...(cluster ? { cluster } : {}),
  });
  alerts.watch(coordinator);
  const posts = () => http.calls.map((c) => JSON.parse(c.body) as PostableAlert[]);
  return { clock, coordinator, alerts, outbox, posts };
}

describe("episode upkeep", () => {
  it("forgets a failover episode once the service is on the primary, and stops re-posting it", async () => {
    const t = await setUp();
    // A failover recorded as an event only: this coordinator's own state still has web on the primary.
    await t.coordinator.recordEvent({
      at: t.clock.now(),
      type: "failover",
      service: "web",
      message: "failover",
    });
    expect(t.alerts.episodes.open().map((e) => e.kind)).toEqual(["failover"]);
    await t.clock.advance(5_000);
    await t.alerts.episodes.idle();
    expect(t.alerts.episodes.open()).toEqual([]);
    expect((await t.outbox.episodes()).open).toEqual([]);
    await t.clock.advance(120_000);
    await t.alerts.dispatcher.idle();
    // Only the message the failover itself queued; no re-post of a forgotten episode.
    expect(t.posts()).toHaveLength(1);
  });

  it("re-posts open episodes only while this coordinator leads its cluster", async () => {
    let leader = "coord-b";
    const t = await setUp(() => ({ self: "coord-a", leader, frozen: false, members: [] }));
    await t.coordinator.recordEvent({
      at: t.clock.now(),
      type: "control-plane.frozen",
      message: 'Control plane frozen: coordinator "coord-a" has no etcd quorum',
    });
    await t.clock.advance(1_000);
    await t.alerts.dispatcher.idle();
    expect(t.posts().map((p) => p[0]?.labels)).toEqual([
      {
        alertname: "HealthmeshControlPlaneFrozen",
        severity: "critical",
        zone: "example.com",
        coordinator: "coord-a",
      },
    ]);
    await t.clock.advance(180_000);
    expect(t.posts()).toHaveLength(1);
    leader = "coord-a";
    await t.clock.advance(60_000);
    expect(t.posts()).toHaveLength(2);
  });
});
