/**
 * The whole path of a lagging nameserver: deSEC's API accepts the failover write, its nameserver (the
 * stand-in's, frozen) keeps serving the old target, and a chat webhook gets the `dns.lagging` alert
 * past the bound — then `dns.lagging.cleared` once the nameserver catches up.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startAlerts } from "../../coordinator/alerts/alerts.ts";
import { MemoryOutbox } from "../../coordinator/alerts/outbox.ts";
import { Coordinator } from "../../coordinator/coordinator.ts";
import { createProviders } from "../../coordinator/dns/factory.ts";
import { startNameserverWatch } from "../../coordinator/dns/nameserver-node.ts";
import { MemoryStore } from "../../coordinator/store/memory.ts";
import type { AuditEvent } from "../../coordinator/store/store.ts";
import { ManualClock } from "../../shared/clock.ts";
import { configFromObject } from "../../shared/config.ts";
import { silentLogger } from "../../shared/log.ts";
import { startDesecStandin } from "../../standins/desec.ts";
import { desecSource, startDnsServer } from "../../standins/dns-server.ts";
import { recordingFetch } from "../alerts/receivers.ts";

const ZONE = "example.com";
const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

describe("a lagging nameserver", () => {
  it("reaches chat as dns.lagging after lagAfter, and as dns.lagging.cleared when it catches up", async () => {
    const clock = new ManualClock();
    const desec = await startDesecStandin({ tokens: ["ds"], domains: [{ name: ZONE }], clock });
    const ns = await startDnsServer({ zone: ZONE, source: desecSource(desec.standin, ZONE) });
    closers.push(
      () => desec.close(),
      () => ns.stop(),
    );
    const config = configFromObject({
      zone: ZONE,
      providers: { desec: { tokenEnv: "DS", apiBase: desec.apiBase, nameservers: [ns.address] } },
      nameserverChecks: { interval: "30s", lagAfter: "60s" },
      services: [
        {
          name: "web",
          router: "web-router",
          ttl: 3600,
          primary: { target: "a.example.net.", check: { url: "https://a.example.net/" } },
          secondary: { target: "b.example.net.", check: { url: "https://b.example.net/" } },
        },
      ],
      probes: { members: [{ id: "p1", provider: "a", secretEnv: "S" }] },
      // A destination for these two events only, so the pin's message does not hold them for repeatInterval.
      alerts: [
        {
          type: "webhook",
          urlEnv: "HOOK",
          events: ["dns.lagging", "dns.lagging.cleared"],
          groupWait: "0s",
          repeatInterval: "0s",
        },
      ],
    });
    const env = (name: string) => ({ DS: "ds", HOOK: "http://sink.test/hook" })[name];
    const store = new MemoryStore();
    const http = recordingFetch();
    const alerts = await startAlerts({
      config,
      env,
      outbox: new MemoryOutbox(),
      store,
      fetch: http.fetch,
      clock,
      log: silentLogger,
    });
    let kick: (events: AuditEvent[]) => void = () => {};
    const coordinator = await Coordinator.open({
      config,
      store,
      clock,
      log: silentLogger,
      providers: createProviders(config, { env, fetch, clock }),
      onEvents: (events) => {
        alerts.enqueue(events);
        kick(events);
      },
    });
    const running = startNameserverWatch(coordinator, { env, fetch, clock, log: silentLogger });
    kick = (events) => running.onEvents(events);
    closers.push(
      () => alerts.stop(),
      () => coordinator.stop(),
      () => running.stop(),
    );
    const watch = running.watch;
    if (!watch) throw new Error("the watch is on by default");
    const step = async (ms: number) => {
      await clock.advance(ms);
      await coordinator.reconciler.idle();
      await watch.idle();
      await alerts.dispatcher.idle();
    };
    await step(0);
    await watch.check();
    expect(watch.serving()[0]).toMatchObject({ values: ["a.example.net."], matches: true });
    ns.freeze();
    await coordinator.failover("web", "secondary", { actor: "cli:ops" });
    await step(0);
    expect(desec.standin.rrsets(ZONE).get("web-router/CNAME")?.records).toEqual(["b.example.net."]);
    const types = () => http.calls.map((c) => (JSON.parse(c.body) as { type: string }).type);
    for (let t = 0; t < 90; t += 1) await step(1000);
    expect(types()).toContain("healthmesh.dns.lagging");
    const lagging = http.calls.find((c) => c.body.includes('"healthmesh.dns.lagging"'));
    expect(lagging?.body).toContain('still serve the old answer for \\"web-router.example.com\\"');
    expect(types().filter((t) => t === "healthmesh.dns.lagging")).toHaveLength(1);
    ns.thaw();
    for (let t = 0; t < 3; t += 1) await step(1000);
    expect(types()).toContain("healthmesh.dns.lagging.cleared");
  });
});
