import { afterAll, beforeAll, expect, it } from "vitest";
import { Coordinator } from "../../coordinator/coordinator.ts";
import { createProviders } from "../../coordinator/dns/factory.ts";
import { startNameserverWatch } from "../../coordinator/dns/nameserver-node.ts";
import { buildStatus } from "../../coordinator/status.ts";
import { MemoryStore } from "../../coordinator/store/memory.ts";
import type { AuditEvent } from "../../coordinator/store/store.ts";
import { systemClock } from "../../shared/clock.ts";
import { configFromObject } from "../../shared/config.ts";
import { silentLogger } from "../../shared/log.ts";
import { describeWithBinary } from "../support/binaries.ts";
import { PDNS_INSTALL, type PdnsServer, startPdnsWithZone, until } from "./pdns-server.ts";

const ZONE = "example.com";
const ROUTER = `web-router.${ZONE}`;

describeWithBinary(
  "nameserver truth on a real PowerDNS",
  "pdns_server",
  { install: PDNS_INSTALL },
  (binary) => {
    let pdns: PdnsServer;
    beforeAll(async () => {
      pdns = await startPdnsWithZone(binary, ZONE);
    });
    afterAll(async () => {
      await pdns?.stop();
    });

    it("asks PowerDNS's configured nameserver after the switch and shows it serving the secondary", async () => {
      const config = configFromObject({
        zone: ZONE,
        providers: {
          powerdns: {
            apiBase: pdns.apiBase,
            apiKeyEnv: "PDNS_API_KEY",
            nameservers: [`127.0.0.1:${pdns.dnsPort}`],
          },
        },
        nameserverChecks: { interval: "1m", lagAfter: "30s" },
        services: [
          {
            name: "web",
            router: "web-router",
            primary: {
              target: "cf-front.example.com.",
              check: { url: "https://cf-front.example.com/healthz" },
            },
            secondary: {
              target: "cdn2-front.example.com.",
              check: { url: "https://cdn2-front.example.com/healthz" },
            },
            failAfter: 1,
            holdDown: "0s",
          },
        ],
        probes: { members: ["p1", "p2", "p3"].map((id) => ({ id, provider: id, secretEnv: "S" })) },
      });
      const clock = systemClock();
      const env = (n: string) => (n === "PDNS_API_KEY" ? pdns.apiKey : undefined);
      let kick: (events: AuditEvent[]) => void = () => {};
      const coordinator = await Coordinator.open({
        config,
        store: new MemoryStore(),
        clock,
        log: silentLogger,
        providers: createProviders(config, { env, fetch, clock }),
        onEvents: (events) => kick(events),
      });
      const running = startNameserverWatch(coordinator, { env, fetch, clock, log: silentLogger });
      kick = (events) => running.onEvents(events);
      const serving = () => buildStatus(coordinator, clock.now()).services[0]?.dns.powerdns?.serving;
      try {
        await until(
          "PowerDNS to serve the primary",
          () => serving()?.values?.[0] === "cf-front.example.com.",
        );
        const at = new Date().toISOString();
        for (const probe of ["p1", "p2", "p3"]) {
          await coordinator.acceptReport({
            id: `${probe}-1`,
            probe,
            sentAt: at,
            healthy: true,
            results: [
              { service: "web", endpoint: "primary", ok: false, checkedAt: at },
              { service: "web", endpoint: "secondary", ok: true, checkedAt: at },
            ],
          });
        }
        await until(
          "PowerDNS's nameserver to serve the secondary",
          () => serving()?.matches === true && serving()?.values?.[0] === "cdn2-front.example.com.",
        );
        const status = buildStatus(coordinator, clock.now());
        expect(status.nameservers?.providers.powerdns?.servers).toEqual([`127.0.0.1:${pdns.dnsPort}`]);
        expect(serving()?.nameservers[0]).toMatchObject({
          rcode: "NOERROR",
          values: ["cdn2-front.example.com."],
        });
        expect(serving()?.lagging).toBe(false);
        expect(ROUTER).toBe(status.services[0]?.router);
      } finally {
        await running.stop();
        coordinator.stop();
        await coordinator.reconciler.idle();
      }
    });
  },
);
