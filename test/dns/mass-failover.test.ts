import { afterEach, describe, expect, it } from "vitest";
import { CloudflareDnsProvider } from "../../coordinator/dns/cloudflare.ts";
import { startCloudflareStandin } from "../../standins/cloudflare.ts";
import { CF_TOKEN, type Harness, row, startHarness, ZONE } from "./harness.ts";

let h: Harness;
afterEach(async () => {
  await h?.close();
});

describe("mass failover", () => {
  it("switches 200 routers with one read and one write per provider (the write's answer verifies it)", async () => {
    h = await startHarness({ services: 200 });
    await h.settle();
    expect(h.coordinator.reconciler.states().every((r) => r.state === "in-sync")).toBe(true);
    h.cf.standin.requests.reset();
    h.desec.standin.requests.reset();
    await h.vote(false);
    await h.settle();
    const cf = Object.fromEntries(h.cf.standin.requests.counts);
    const desec = Object.fromEntries(h.desec.standin.requests.counts);
    console.log(`200-service failover: Cloudflare ${JSON.stringify(cf)}; deSEC ${JSON.stringify(desec)}`);
    expect(h.cf.standin.requests.get("GET", "/zones/:zone/dns_records")).toBe(1);
    expect(h.cf.standin.requests.get("POST", "/zones/:zone/dns_records/batch")).toBe(1);
    expect(h.cf.standin.requests.total()).toBe(2);
    expect(h.desec.standin.requests.get("GET", "/domains/:name/rrsets/")).toBe(1);
    expect(h.desec.standin.requests.get("PATCH", "/domains/:name/rrsets/")).toBe(1);
    expect(h.desec.standin.requests.total()).toBe(2);
    const states = h.coordinator.reconciler.states();
    expect(states.length).toBe(400);
    expect(states.every((r) => r.state === "in-sync" && r.target?.includes("-cdn2."))).toBe(true);
    expect(row(h, "desec", `svc199-router.${ZONE}`)?.target).toBe("svc199-cdn2.example.net.");
  });

  it("splits a Cloudflare batch above the plan's limit into several batch requests", async () => {
    const cf = await startCloudflareStandin({ tokens: [CF_TOKEN], zones: [{ name: ZONE }], batchLimit: 2 });
    try {
      const client = new CloudflareDnsProvider({
        fetch,
        apiBase: cf.apiBase,
        token: CF_TOKEN,
        zone: ZONE,
        batchLimit: 2,
      });
      const names = [1, 2, 3, 4, 5].map((i) => `r${i}.${ZONE}`);
      await client.readRouters(names);
      await client.writeRouters(names.map((name) => ({ name, target: "t.example.net.", ttl: 60 })));
      expect(cf.standin.requests.get("POST", "/zones/:zone/dns_records/batch")).toBe(3);
      const read = await client.readRouters(names);
      expect([...read.values()].map((r) => r?.target)).toEqual(Array(5).fill("t.example.net."));
    } finally {
      await cf.close();
    }
  });

  it("is refused by the stand-in when one batch exceeds the plan's limit", async () => {
    const cf = await startCloudflareStandin({ tokens: [CF_TOKEN], zones: [{ name: ZONE }], batchLimit: 2 });
    try {
      const client = new CloudflareDnsProvider({
        fetch,
        apiBase: cf.apiBase,
        token: CF_TOKEN,
        zone: ZONE,
        batchLimit: 10,
      });
      const names = [1, 2, 3].map((i) => `r${i}.${ZONE}`);
      await client.readRouters(names);
      await expect(
        client.writeRouters(names.map((name) => ({ name, target: "t.example.net.", ttl: 60 }))),
      ).rejects.toThrow(/exceeds the zone plan's limit of 2/);
      expect(cf.standin.records(ZONE).size).toBe(0);
    } finally {
      await cf.close();
    }
  });
});
