import { afterAll, beforeAll, expect, it } from "vitest";
import { Coordinator } from "../../coordinator/coordinator.ts";
import { createProviders, createZoneProviders } from "../../coordinator/dns/factory.ts";
import { applyPlan, planZone } from "../../coordinator/dns/zone-sync.ts";
import { MemoryStore } from "../../coordinator/store/memory.ts";
import { systemClock } from "../../shared/clock.ts";
import { configFromObject } from "../../shared/config.ts";
import { silentLogger } from "../../shared/log.ts";
import { describeWithBinary } from "../support/binaries.ts";
import { queryDns } from "./dns-query.ts";
import { PDNS_INSTALL, type PdnsServer, startPdnsWithZone, until } from "./pdns-server.ts";

const ZONE = "example.com";
const ROUTER = `web-router.${ZONE}`;

describeWithBinary("PowerDNS end to end", "pdns_server", { install: PDNS_INSTALL }, (binary) => {
  let pdns: PdnsServer;
  beforeAll(async () => {
    pdns = await startPdnsWithZone(binary, ZONE);
  });
  afterAll(async () => {
    await pdns?.stop();
  });

  it("fails a service over through the coordinator and the authoritative server answers with the secondary", async () => {
    const config = configFromObject({
      zone: ZONE,
      providers: { powerdns: { apiBase: pdns.apiBase, apiKeyEnv: "PDNS_API_KEY" } },
      services: [
        {
          name: "web",
          router: "web-router",
          ttl: 60,
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
    const providers = createProviders(config, {
      env: (n) => (n === "PDNS_API_KEY" ? pdns.apiKey : undefined),
      fetch,
      clock,
    });
    const coordinator = await Coordinator.open({
      config,
      store: new MemoryStore(),
      clock,
      log: silentLogger,
      providers,
    });
    try {
      await until("the router to be created", () => coordinator.reconciler.states()[0]?.state === "in-sync");
      expect(await queryDns(pdns.dnsPort, ROUTER, "CNAME")).toEqual(["cf-front.example.com."]);

      const decidedAt = performance.now();
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
      expect(coordinator.service("web").active).toBe("secondary");
      await until("the authoritative answer to change", async () => {
        const answer = await queryDns(pdns.dnsPort, ROUTER, "CNAME");
        return answer[0] === "cdn2-front.example.com.";
      });
      console.log(
        `PowerDNS: authoritative answer switched ${(performance.now() - decidedAt).toFixed(0)} ms after the decision`,
      );
      await until("the write to be verified", () => coordinator.reconciler.states()[0]?.state === "in-sync");
      expect(coordinator.reconciler.states()[0]).toMatchObject({
        state: "in-sync",
        target: "cdn2-front.example.com.",
      });
      const events = await coordinator.events({});
      expect(events.filter((e) => e.type === "dns.switched" && e.provider === "powerdns").length).toBe(2);
    } finally {
      coordinator.stop();
      await coordinator.reconciler.idle();
    }
  });

  it("applies a declared record with zone sync and the server answers it, leaving the router alone", async () => {
    const config = configFromObject({
      zone: ZONE,
      providers: { powerdns: { apiBase: pdns.apiBase, apiKeyEnv: "PDNS_API_KEY" } },
      records: [{ name: "www", type: "CNAME", value: `${ROUTER}.`, ttl: 300 }],
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
        },
      ],
      probes: { members: [{ id: "p1", provider: "p1", secretEnv: "S" }] },
    });
    const world = {
      env: (n: string) => (n === "PDNS_API_KEY" ? pdns.apiKey : undefined),
      fetch,
      clock: systemClock(),
    };
    const providers = createZoneProviders(config, world);
    const plans = await planZone(config, providers);
    expect(plans[0]?.ok && plans[0].creates).toBe(1);
    expect(await applyPlan(plans, providers, { force: false })).toEqual([
      { provider: "powerdns", status: "applied", written: 1 },
    ]);
    expect(await queryDns(pdns.dnsPort, `www.${ZONE}`, "CNAME")).toEqual([`${ROUTER}.`]);
    expect(await queryDns(pdns.dnsPort, ROUTER, "CNAME")).toEqual(["cdn2-front.example.com."]);
  });
});
