import { afterEach, describe, expect, it } from "vitest";
import { UdpNameserverClient } from "../../coordinator/dns/nameserver-udp.ts";
import { NameserverWatch } from "../../coordinator/dns/nameserver-watch.ts";
import { buildStatus } from "../../coordinator/status.ts";
import { silentLogger } from "../../shared/log.ts";
import {
  cloudflareSource,
  desecSource,
  type StandinDnsServer,
  startDnsServer,
} from "../../standins/dns-server.ts";
import { type Harness, startHarness, ZONE } from "./harness.ts";

const ROUTER = `svc0-router.${ZONE}`;
const PRIMARY = "svc0-cf.example.net.";
const SECONDARY = "svc0-cdn2.example.net.";

let h: Harness;
let servers: StandinDnsServer[] = [];
let watch: NameserverWatch | null = null;
afterEach(async () => {
  watch?.stop();
  await watch?.idle();
  watch = null;
  await Promise.all(servers.map((s) => s.stop()));
  servers = [];
  await h?.close();
});

/** The harness's coordinator, each stand-in serving its zone over DNS, and a watch over both. */
async function start() {
  h = await startHarness({});
  const desecNs = await startDnsServer({
    zone: ZONE,
    source: desecSource(h.desec.standin, ZONE),
    nameservers: ["ns1.desec.io", "ns2.desec.org"],
  });
  const cfNs = await startDnsServer({
    zone: ZONE,
    source: cloudflareSource(h.cf.standin, ZONE),
    nameservers: ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"],
  });
  servers = [desecNs, cfNs];
  const rechecks: string[] = [];
  watch = new NameserverWatch({
    providers: [
      { name: "desec", servers: async () => [{ host: "127.0.0.1", port: desecNs.port }] },
      { name: "cloudflare", servers: async () => [{ host: "127.0.0.1", port: cfNs.port }] },
    ],
    client: new UdpNameserverClient(),
    desired: () => h.coordinator.reconciler.desired(),
    apiStates: () => h.coordinator.reconciler.states(),
    record: (event) => h.coordinator.recordEvent(event),
    recheck: (provider) => {
      rechecks.push(provider);
      h.coordinator.reconciler.kick(provider);
    },
    clock: h.clock,
    log: silentLogger,
    intervalMs: 60_000,
    lagAfterMs: 60_000,
    timeoutMs: 2000,
  });
  h.coordinator.nameservers = watch;
  await h.settle();
  return { desecNs, cfNs, watch, rechecks };
}

async function events(type: string) {
  return (await h.coordinator.events({})).filter((e) => e.type === type);
}

function serving(provider: string) {
  return watch?.serving().find((s) => s.provider === provider && s.router === ROUTER);
}

describe("nameserver truth", () => {
  it("shows in status what each provider's nameservers serve, over real DNS from the stand-ins' stores", async () => {
    const { watch } = await start();
    await watch.check();
    expect(serving("desec")).toMatchObject({ values: [PRIMARY], matches: true, lagging: false });
    expect(serving("cloudflare")).toMatchObject({ values: [PRIMARY], matches: true });
    const status = buildStatus(h.coordinator, h.clock.now());
    expect(status.services[0]?.dns.desec?.serving).toMatchObject({ values: [PRIMARY], matches: true });
    expect(status.nameservers?.checking).toBe(true);
    expect(status.nameservers?.providers.desec?.queries).toBe(1);
    await h.vote(false);
    await h.settle();
    await watch.check();
    expect(serving("desec")).toMatchObject({ values: [SECONDARY], matches: true });
    expect(serving("cloudflare")).toMatchObject({ values: [SECONDARY], matches: true });
    expect(await events("dns.lagging")).toEqual([]);
  });

  it("raises dns.lagging when deSEC's API accepted the switch but its nameservers still serve the old target past the bound, and clears it when they catch up", async () => {
    const { desecNs, watch, rechecks } = await start();
    await watch.check();
    desecNs.freeze();
    await h.vote(false);
    await h.settle();
    expect(h.desec.standin.rrsets(ZONE).get("svc0-router/CNAME")?.records).toEqual([SECONDARY]);
    await watch.check();
    expect(serving("desec")).toMatchObject({ values: [PRIMARY], matches: false, lagging: false });
    expect(serving("cloudflare")).toMatchObject({ values: [SECONDARY], matches: true });
    await h.advance(59_000);
    await watch.check();
    expect(await events("dns.lagging")).toEqual([]);
    await h.advance(2000);
    await watch.check();
    // Past the bound the API is asked once more, so a hand edit is not mistaken for lag.
    expect(rechecks).toEqual(["desec"]);
    await h.settle();
    await watch.check();
    const lagging = await events("dns.lagging");
    expect(lagging).toHaveLength(1);
    expect(lagging[0]).toMatchObject({ provider: "desec", service: "svc0" });
    expect(lagging[0]?.message).toContain(`still serve the old answer for "${ROUTER}"`);
    expect(lagging[0]?.message).toContain(`"${PRIMARY}"`);
    expect(serving("desec")?.lagging).toBe(true);
    await watch.check();
    expect(await events("dns.lagging")).toHaveLength(1);
    desecNs.thaw();
    await watch.check();
    expect(serving("desec")).toMatchObject({ values: [SECONDARY], matches: true, lagging: false });
    const cleared = await events("dns.lagging.cleared");
    expect(cleared).toHaveLength(1);
    expect(cleared[0]?.message).toContain(`now serve "${SECONDARY}"`);
  });

  it("asks the API instead of alerting when a confirmed router is served differently because it was edited by hand", async () => {
    const { watch, rechecks } = await start();
    await watch.check();
    const rrset = h.desec.standin.rrsets(ZONE).get("svc0-router/CNAME");
    if (rrset) rrset.records = ["hand-edit.example.org."];
    await h.advance(61_000);
    await watch.check();
    expect(serving("desec")).toMatchObject({ values: ["hand-edit.example.org."], matches: false });
    expect(rechecks).toEqual(["desec"]);
    await h.settle();
    expect((await events("dns.drift")).map((e) => e.provider)).toEqual(["desec"]);
    await watch.check();
    expect(serving("desec")).toMatchObject({ values: [PRIMARY], matches: true });
    expect(await events("dns.lagging")).toEqual([]);
  });

  it("spends no API request in the steady state once the nameservers are watched, and still puts back a hand edit", async () => {
    const { watch } = await start();
    await watch.check();
    h.coordinator.reconciler.setDriftPolicy((provider) => (watch.covers(provider) ? null : undefined));
    // Timers armed before the policy fire once; the rounds they start arm none.
    for (let i = 0; i < 6; i++) {
      await h.clock.advance(60_000);
      await h.settle();
      await watch.check();
    }
    const before = h.cf.standin.requests.total() + h.desec.standin.requests.total();
    for (let i = 0; i < 60; i++) {
      await h.clock.advance(60_000);
      await h.settle();
      await watch.check();
    }
    expect(h.cf.standin.requests.total() + h.desec.standin.requests.total()).toBe(before);
    const record = [...h.cf.standin.records(ZONE).values()].find((r) => r.name === ROUTER);
    if (record) record.content = "hand-edit.example.org";
    await h.advance(61_000);
    await watch.check();
    await h.settle();
    expect((await events("dns.drift")).map((e) => e.provider)).toEqual(["cloudflare"]);
    await watch.check();
    expect(serving("cloudflare")).toMatchObject({ values: [PRIMARY], matches: true });
  });
});
