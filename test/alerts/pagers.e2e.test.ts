/**
 * A failover pages PagerDuty, Opsgenie and an Alertmanager cluster (two real Alertmanager processes),
 * and the fail-back resolves all three, though the coordinator restarts (store reopened on the same
 * data dir) between the two; after the restart the firing alert is re-posted to Alertmanager. The
 * coordinator decides from probe reports on a fake clock set twenty minutes behind the wall clock,
 * so Alertmanager (which judges `endsAt` by its own clock) sees the fail-back's `endsAt` as past.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Alerts, startAlerts } from "../../coordinator/alerts/alerts.ts";
import { SqliteOutbox } from "../../coordinator/alerts/outbox-sqlite.ts";
import { Coordinator } from "../../coordinator/coordinator.ts";
import { MemoryDnsProvider } from "../../coordinator/dns/memory.ts";
import { SqliteStore } from "../../coordinator/store/sqlite.ts";
import { ManualClock } from "../../shared/clock.ts";
import { configFromObject } from "../../shared/config.ts";
import type { Config } from "../../shared/config-schema.ts";
import { silentLogger } from "../../shared/log.ts";
import type { Report } from "../../shared/protocol.ts";
import { type RunningOpsgenieStandin, startOpsgenieStandin } from "../../standins/opsgenie.ts";
import { type RunningPagerDutyStandin, startPagerDutyStandin } from "../../standins/pagerduty.ts";
import { configObject } from "../helpers.ts";
import { describeWithBinary } from "../support/binaries.ts";
import { type RunningAlertmanager, startAlertmanager } from "./alertmanager-process.ts";

const ROUTING_KEY = "R0UT1NGKEY0123456789abcdef012345";
const GENIE_KEY = "eb243592-faa2-4ba2-a551-1afdf565c889";
const EPISODE = "healthmesh:example.com:web:failover";

describeWithBinary(
  "pagers end to end",
  ["prometheus-alertmanager", "alertmanager"],
  { install: "apt-get install prometheus-alertmanager" },
  (binary) => {
    let pd: RunningPagerDutyStandin;
    let og: RunningOpsgenieStandin;
    const ams: RunningAlertmanager[] = [];
    const dir = mkdtempSync(join(tmpdir(), "hm-pagers-"));
    /** What the first Alertmanager notified its webhook receiver: each alert's name and status. */
    const notified: { alertname: string; status: string }[] = [];
    let sink: Server;

    beforeAll(async () => {
      pd = await startPagerDutyStandin({ routingKeys: [ROUTING_KEY] });
      og = await startOpsgenieStandin({ apiKeys: [GENIE_KEY] });
      sink = createServer((req, res) => {
        let body = "";
        req.on("data", (chunk: Buffer) => {
          body += chunk.toString();
        });
        req.on("end", () => {
          // Alertmanager's webhook payload: {status, alerts: [{status, labels}]}.
          const payload = JSON.parse(body) as {
            alerts: { status: string; labels: Record<string, string> }[];
          };
          for (const a of payload.alerts)
            notified.push({ alertname: a.labels.alertname ?? "", status: a.status });
          res.end();
        });
      });
      await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve));
      const address = sink.address();
      const webhookUrl = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/`;
      ams.push(
        ...(await Promise.all([startAlertmanager(binary, { webhookUrl }), startAlertmanager(binary)])),
      );
    }, 30_000);
    afterAll(async () => {
      await new Promise((resolve) => sink?.close(resolve));
      await Promise.all([pd?.close(), og?.close(), ...ams.map((am) => am.close())]);
      rmSync(dir, { recursive: true, force: true });
    });

    function config(): Config {
      return configFromObject({
        ...configObject({ service: { holdDown: "0s" } }),
        coordinator: { publicUrl: "https://status.example.com" },
        alerts: [
          { type: "pagerduty", routingKeyEnv: "PD_KEY", apiBase: pd.apiBase, groupWait: "1s" },
          { type: "opsgenie", apiKeyEnv: "OG_KEY", apiBase: og.apiBase, groupWait: "1s" },
          { type: "alertmanager", urls: ams.map((am) => am.url), groupWait: "1s", resendInterval: "10m" },
        ],
      });
    }
    const env = (name: string) => ({ PD_KEY: ROUTING_KEY, OG_KEY: GENIE_KEY })[name];

    /** One life of the coordinator on the data dir. */
    async function life(clock: ManualClock, dns: MemoryDnsProvider) {
      const store = new SqliteStore(dir);
      const cfg = config();
      const alerts: Alerts = await startAlerts({
        config: cfg,
        env,
        outbox: new SqliteOutbox(store.db),
        store,
        fetch,
        clock,
        log: silentLogger,
      });
      const coordinator = await Coordinator.open({
        config: cfg,
        store,
        clock,
        log: silentLogger,
        providers: [dns],
        random: () => 0.5,
        onEvents: (events) => alerts.enqueue(events),
      });
      alerts.watch(coordinator);
      let seq = 0;
      const rounds = async (results: { primary: boolean; secondary: boolean }, count: number) => {
        for (let i = 0; i < count; i++) {
          for (const probe of ["p1", "p2", "p3"]) {
            const at = new Date(clock.now()).toISOString();
            const report: Report = {
              id: `${clock.now()}-${probe}-${++seq}`,
              probe,
              sentAt: at,
              healthy: true,
              results: (["primary", "secondary"] as const).map((endpoint) => ({
                service: "web",
                endpoint,
                ok: results[endpoint],
                checkedAt: at,
              })),
            };
            await coordinator.acceptReport(report);
          }
          await clock.advance(10_000);
          await coordinator.reconciler.idle();
          await alerts.dispatcher.idle();
        }
      };
      const stop = async () => {
        alerts.stop();
        coordinator.stop();
        await store.close();
      };
      return { coordinator, alerts, rounds, stop };
    }

    const firing = async (am: RunningAlertmanager) =>
      (await am.alerts()).filter((a) => a.labels.alertname === "HealthmeshFailover");
    /** Waits (wall clock, polling) for something Alertmanager does on its own timers. */
    async function until(what: string, ok: () => Promise<boolean> | boolean): Promise<void> {
      const deadline = Date.now() + 20_000;
      while (!(await ok())) {
        if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }

    it("a failover pages all three; after a restart the fail-back resolves all three", async () => {
      const clock = new ManualClock(Date.now() - 20 * 60_000);
      const dns = new MemoryDnsProvider("memory");
      let run = await life(clock, dns);
      await run.rounds({ primary: true, secondary: true }, 2);
      await run.rounds({ primary: false, secondary: true }, 3);
      expect(run.coordinator.service("web").active).toBe("secondary");
      await run.rounds({ primary: false, secondary: true }, 1);

      expect(pd.standin.open(EPISODE)).toMatchObject({ status: "triggered", severity: "critical" });
      const details = pd.standin.open(EPISODE)?.customDetails as Record<string, string>;
      // The tally that decided: the second down vote of the third failing round tipped it.
      expect(details["votes.primary"]).toBe("2 down, 1 up, 0 abstain");
      expect(details.status).toBe("https://status.example.com");
      expect(og.standin.open(EPISODE)).toMatchObject({ priority: "P1", entity: "web" });
      for (const am of ams) {
        const [alert, ...more] = await firing(am);
        expect(more).toEqual([]);
        expect(alert?.labels).toMatchObject({ service: "web", severity: "critical", zone: "example.com" });
        expect(alert?.status.state).toMatch(/active|unprocessed/);
      }

      await until("Alertmanager to notify the firing alert", () =>
        notified.some((n) => n.alertname === "HealthmeshFailover" && n.status === "firing"),
      );

      await run.stop();
      run = await life(clock, dns);
      expect(run.coordinator.service("web").active).toBe("secondary");
      // The restarted coordinator knows the episode is open and re-posts it after resendInterval.
      const before = (await firing(ams[1] as RunningAlertmanager))[0]?.endsAt ?? "";
      await clock.advance(600_000);
      for (const am of ams)
        await until(
          "the re-post to reach each Alertmanager",
          async () => ((await firing(am))[0]?.endsAt ?? "") > before,
        );
      await run.rounds({ primary: true, secondary: true }, 4);
      expect(run.coordinator.service("web").active).toBe("primary");
      await run.rounds({ primary: true, secondary: true }, 1);

      expect(pd.standin.incidents.map((i) => [i.dedupKey, i.status])).toEqual([[EPISODE, "resolved"]]);
      expect(og.standin.alerts.map((a) => [a.alias, a.status, a.count])).toEqual([[EPISODE, "closed", 1]]);
      for (const am of ams) expect(await firing(am)).toEqual([]);
      await until("Alertmanager to notify the resolved alert", () =>
        notified.some((n) => n.alertname === "HealthmeshFailover" && n.status === "resolved"),
      );
      await run.stop();
    }, 60_000);
  },
);
