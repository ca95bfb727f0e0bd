/**
 * Open episodes outlive a restart (the SQLite store reopened on the same data dir): Alertmanager keeps
 * getting the firing alert re-posted every `resendInterval` until the fail-back ends it, and a
 * provider that failed a write before the restart and is in sync after it ends its `dns-error`
 * episode with `dns.recovered`, which resolves the PagerDuty incident.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { PostableAlert } from "../../coordinator/alerts/alertmanager.ts";
import { startAlerts } from "../../coordinator/alerts/alerts.ts";
import { SqliteOutbox } from "../../coordinator/alerts/outbox-sqlite.ts";
import { Coordinator } from "../../coordinator/coordinator.ts";
import { AuthError } from "../../coordinator/dns/errors.ts";
import { MemoryDnsProvider } from "../../coordinator/dns/memory.ts";
import { SqliteStore } from "../../coordinator/store/sqlite.ts";
import { ManualClock } from "../../shared/clock.ts";
import { configFromObject } from "../../shared/config.ts";
import { silentLogger } from "../../shared/log.ts";
import { PagerDutyStandin } from "../../standins/pagerduty.ts";
import { configObject } from "../helpers.ts";
import { recordingFetch } from "./receivers.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "hm-episodes-"));
  dirs.push(dir);
  return dir;
}

describe("pager episodes across a restart", () => {
  it("re-posts a firing failover to Alertmanager every resendInterval, before and after a restart, until the fail-back", async () => {
    const dir = tempDir();
    const config = configFromObject({
      ...configObject({ service: { failAfter: 1, recoverAfter: 1, holdDown: "0s" } }),
      alerts: [{ type: "alertmanager", urls: ["http://am.test"], groupWait: "1s", resendInterval: "1m" }],
    });
    let seq = 0;
    /** One report from each probe, now: the primary `up` or not, the secondary up. */
    const round = async (coordinator: Coordinator, up: boolean) => {
      const at = new Date(clock.now()).toISOString();
      for (const probe of ["p1", "p2", "p3"]) {
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
      }
    };
    const clock = new ManualClock();
    const t0 = clock.now();
    const iso = (ms: number) => new Date(t0 + ms).toISOString();
    const http = recordingFetch(() => new Response("", { status: 200 }));
    const life = async () => {
      const store = new SqliteStore(dir);
      const alerts = await startAlerts({
        config,
        env: () => undefined,
        outbox: new SqliteOutbox(store.db),
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
      });
      alerts.watch(coordinator);
      return { store, alerts, coordinator };
    };
    const posts = () => http.calls.map((c) => JSON.parse(c.body) as PostableAlert[]);
    let run = await life();
    await round(run.coordinator, false);
    expect(run.coordinator.service("web").active).toBe("secondary");
    await clock.advance(1_000);
    await run.alerts.dispatcher.idle();
    await clock.advance(60_000);
    await run.alerts.episodes.idle();
    expect(posts().map((p) => p.map((a) => [a.labels.alertname, a.endsAt]))).toEqual([
      // Queued after groupWait (1 s), then re-posted on the 1-minute beat, each 4 minutes ahead.
      [["HealthmeshFailover", iso(1_000 + 240_000)]],
      [["HealthmeshFailover", iso(60_000 + 240_000)]],
    ]);
    run.alerts.stop();
    run.coordinator.stop();
    await run.store.close();

    await clock.advance(30_000); // down for half a minute: t0 + 91 s
    run = await life();
    expect(run.alerts.episodes.open().map((e) => e.id)).toEqual(["healthmesh:example.com:web:failover"]);
    await clock.advance(60_000);
    expect(posts()).toHaveLength(3);
    expect(posts()[2]?.[0]?.endsAt).toBe(iso(151_000 + 240_000));
    await round(run.coordinator, true);
    expect(run.coordinator.service("web").active).toBe("primary");
    await clock.advance(1_000);
    await run.alerts.dispatcher.idle();
    const resolved = posts()[3]?.[0];
    expect(resolved?.labels).toEqual(posts()[0]?.[0]?.labels);
    expect(resolved?.endsAt).toBe(new Date(clock.now() - 1_000).toISOString());
    await clock.advance(600_000);
    expect(posts()).toHaveLength(4);
    run.alerts.stop();
    run.coordinator.stop();
    await run.store.close();
  });

  it("a provider back in sync after a restart ends the dns-error episode with dns.recovered and resolves the page", async () => {
    const dir = tempDir();
    const key = "R0UT1NGKEY0123456789abcdef012345";
    const config = configFromObject({
      ...configObject(),
      providers: { memory: {} },
      alerts: [{ type: "pagerduty", routingKeyEnv: "PD", apiBase: "http://pd.test", groupWait: "1s" }],
    });
    const clock = new ManualClock();
    const pd = new PagerDutyStandin({ routingKeys: [key], clock });
    const fetch = async (input: RequestInfo | URL, init?: RequestInit) =>
      pd.app.request(new URL(String(input)).pathname, init);
    const dns = new MemoryDnsProvider("memory");
    const life = async () => {
      const store = new SqliteStore(dir);
      const alerts = await startAlerts({
        config,
        env: (name) => (name === "PD" ? key : undefined),
        outbox: new SqliteOutbox(store.db),
        store,
        fetch,
        clock,
        log: silentLogger,
      });
      const coordinator = await Coordinator.open({
        config,
        store,
        clock,
        log: silentLogger,
        providers: [dns],
        random: () => 0.5,
        onEvents: (events) => alerts.enqueue(events),
      });
      alerts.watch(coordinator);
      return { store, alerts, coordinator };
    };
    const id = "healthmesh:example.com:web:dns-error:memory";
    dns.fault = new AuthError("memory", "Cannot write to memory: token lacks permission");
    let run = await life();
    await run.coordinator.reconciler.idle();
    await clock.advance(1_000);
    await run.alerts.dispatcher.idle();
    expect(pd.open(id)).toMatchObject({ status: "triggered", severity: "critical" });
    expect(pd.open(id)?.customDetails).toMatchObject({ "dns.memory": expect.stringMatching(/^error /) });
    run.alerts.stop();
    run.coordinator.stop();
    await run.store.close();

    dns.fault = null;
    run = await life();
    await run.coordinator.reconciler.idle();
    await clock.advance(5_000);
    await run.alerts.dispatcher.idle();
    await clock.advance(1_000);
    await run.alerts.dispatcher.idle();
    const events = await run.store.listEvents({});
    expect(events.filter((e) => e.type === "dns.recovered").map((e) => e.provider)).toEqual(["memory"]);
    expect(pd.incidents.map((i) => [i.dedupKey, i.status])).toEqual([[id, "resolved"]]);
    expect(run.alerts.episodes.open()).toEqual([]);
    run.alerts.stop();
    run.coordinator.stop();
    await run.store.close();
  });
});
