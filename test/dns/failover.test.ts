import { afterEach, describe, expect, it } from "vitest";
import { buildStatus } from "../../coordinator/status.ts";
import { type Harness, row, startHarness, ZONE } from "./harness.ts";

let h: Harness;
afterEach(async () => {
  await h?.close();
});

async function events(type: string, provider?: string) {
  const all = await h.coordinator.events({});
  return all.filter((e) => e.type === type && (provider === undefined || e.provider === provider));
}

describe("failover on both providers", () => {
  it("switches deSEC in the same round while the Cloudflare API answers 502, then converges Cloudflare once it is back", async () => {
    h = await startHarness({});
    await h.settle();
    expect(row(h, "cloudflare")?.state).toBe("in-sync");
    expect(row(h, "desec")?.state).toBe("in-sync");
    h.cf.standin.fault = { status: 502 };
    await h.vote(false);
    await h.settle();
    expect(h.coordinator.service("svc0").active).toBe("secondary");
    expect(row(h, "desec")).toMatchObject({ state: "in-sync", target: "svc0-cdn2.example.net." });
    expect(h.desec.standin.rrsets(ZONE).get("svc0-router/CNAME")?.records).toEqual([
      "svc0-cdn2.example.net.",
    ]);
    const cf = buildStatus(h.coordinator, h.clock.now()).services[0]?.dns.cloudflare;
    expect(cf?.state).toBe("error");
    expect(cf?.error).toContain("502");
    expect((await events("dns.error", "cloudflare")).length).toBe(1);
    expect((await events("dns.switched", "desec")).at(-1)?.message).toContain("svc0-cdn2.example.net.");
    h.cf.standin.fault = null;
    await h.advance(30_000);
    expect(row(h, "cloudflare")).toMatchObject({ state: "in-sync", target: "svc0-cdn2.example.net." });
    const record = [...h.cf.standin.records(ZONE).values()].find((r) => r.name === `svc0-router.${ZONE}`);
    expect(record?.content).toBe("svc0-cdn2.example.net");
  });

  it("switches deSEC while the Cloudflare API refuses connections, then converges Cloudflare once it listens again", async () => {
    h = await startHarness({});
    await h.settle();
    await h.cf.down();
    await h.vote(false);
    await h.settle();
    expect(row(h, "desec")).toMatchObject({ state: "in-sync", target: "svc0-cdn2.example.net." });
    expect(row(h, "cloudflare")?.state).toBe("error");
    expect(row(h, "cloudflare")?.error).toMatch(/Cannot reach cloudflare/);
    expect((await events("dns.error", "cloudflare")).length).toBe(1);
    await h.cf.up();
    await h.advance(30_000);
    expect(row(h, "cloudflare")).toMatchObject({ state: "in-sync", target: "svc0-cdn2.example.net." });
  });

  it("switches deSEC while the Cloudflare API hangs, and gives Cloudflare up after its 10 s timeout", async () => {
    h = await startHarness({});
    await h.settle();
    h.cf.standin.fault = { hang: true };
    await h.vote(false);
    // settle() would wait for Cloudflare's round, which hangs until the clock passes its timeout.
    for (let i = 0; i < 200 && row(h, "desec")?.target !== "svc0-cdn2.example.net."; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(row(h, "desec")).toMatchObject({ state: "in-sync", target: "svc0-cdn2.example.net." });
    expect(row(h, "cloudflare")?.state).not.toBe("in-sync");
    await h.clock.advance(10_000);
    await h.settle();
    expect(row(h, "cloudflare")?.state).toBe("error");
    expect(row(h, "cloudflare")?.error).toMatch(/within 10000 ms/);
    h.cf.standin.fault = null;
    h.cf.standin.hangs.release();
    await h.advance(30_000);
    expect(row(h, "cloudflare")).toMatchObject({ state: "in-sync", target: "svc0-cdn2.example.net." });
  });

  it("sends deSEC nothing for the 30 s its Retry-After asks, then switches", async () => {
    h = await startHarness({ desec: { limits: { write: [{ limit: 1, windowMs: 30_000 }] } } });
    await h.settle();
    expect(row(h, "desec")?.state).toBe("in-sync");
    await h.vote(false);
    await h.settle();
    expect(h.desec.standin.requests.get("PATCH", "/domains/:name/rrsets/")).toBe(2);
    expect(row(h, "desec")?.error).toContain("Retry-After");
    expect(row(h, "cloudflare")).toMatchObject({ state: "in-sync", target: "svc0-cdn2.example.net." });
    h.desec.standin.requests.reset();
    for (let t = 0; t < 29; t++) await h.advance(1000);
    expect(h.desec.standin.requests.total()).toBe(0);
    await h.advance(1000);
    expect(h.desec.standin.requests.total()).toBeGreaterThan(0);
    expect(row(h, "desec")).toMatchObject({ state: "in-sync", target: "svc0-cdn2.example.net." });
  });

  it("reports an invalid Cloudflare token once, with Cloudflare's code, and re-reads it only at the drift interval", async () => {
    h = await startHarness({ cloudflareToken: "not-the-token" });
    await h.settle();
    const cf = row(h, "cloudflare");
    expect(cf?.state).toBe("error");
    expect(cf?.error).toContain("9109");
    expect(cf?.error).toContain("Invalid access token");
    expect(cf?.error).toContain("read again in 60 s");
    const errors = await events("dns.error", "cloudflare");
    expect(errors.length).toBe(1);
    const before = h.cf.standin.requests.total();
    await h.vote(false);
    for (let i = 0; i < 10; i++) await h.advance(60_000);
    // CONTRACT §4a: a permanent error stops no drift check; one read a minute, no faster retries, no new dns.error.
    expect(h.cf.standin.requests.total() - before).toBeLessThanOrEqual(12);
    expect(await events("dns.error", "cloudflare")).toHaveLength(1);
    expect(row(h, "desec")).toMatchObject({ state: "in-sync", target: "svc0-cdn2.example.net." });
  });

  it("puts back a hand-edited router on Cloudflare with a dns.drift event", async () => {
    h = await startHarness({});
    await h.settle();
    const record = [...h.cf.standin.records(ZONE).values()].find((r) => r.name === `svc0-router.${ZONE}`);
    if (!record) throw new Error("router not created");
    record.content = "hand-edited.example.org";
    await h.advance(60_000);
    const drift = await events("dns.drift", "cloudflare");
    expect(drift.length).toBe(1);
    expect(drift[0]?.message).toContain("hand-edited.example.org");
    const after = [...h.cf.standin.records(ZONE).values()].find((r) => r.name === `svc0-router.${ZONE}`);
    expect(after?.content).toBe("svc0-cf.example.net");
  });

  it("makes a router created proxied on Cloudflare DNS-only at the desired TTL, then leaves it alone", async () => {
    h = await startHarness({});
    const name = `svc0-router.${ZONE}`;
    h.cf.standin.seed(ZONE, { name, type: "CNAME", content: "svc0-cf.example.net", ttl: 1, proxied: true });
    await h.settle();
    await h.advance(300_000);
    const records = [...h.cf.standin.records(ZONE).values()].filter((r) => r.name === name);
    expect(records).toEqual([
      expect.objectContaining({ content: "svc0-cf.example.net", proxied: false, ttl: 60 }),
    ]);
    expect(row(h, "cloudflare")).toMatchObject({ state: "in-sync", target: "svc0-cf.example.net." });
    expect((await events("dns.switched", "cloudflare")).length).toBe(1);
    expect((await events("dns.drift", "cloudflare")).length).toBe(0);
  });

  it("reports a router proxied by hand as drift once and makes it DNS-only again", async () => {
    h = await startHarness({});
    await h.settle();
    const record = [...h.cf.standin.records(ZONE).values()].find((r) => r.name === `svc0-router.${ZONE}`);
    if (!record) throw new Error("router not created");
    Object.assign(record, { proxied: true, ttl: 1 });
    await h.advance(300_000);
    expect((await events("dns.drift", "cloudflare")).length).toBe(1);
    const after = [...h.cf.standin.records(ZONE).values()].find((r) => r.name === `svc0-router.${ZONE}`);
    expect(after).toMatchObject({ content: "svc0-cf.example.net", proxied: false, ttl: 60 });
    expect(row(h, "cloudflare")?.state).toBe("in-sync");
  });

  it("puts back a hand-edited router on deSEC at its slower drift check (deSEC's daily request budget)", async () => {
    h = await startHarness({});
    await h.settle();
    const rrset = h.desec.standin.rrsets(ZONE).get("svc0-router/CNAME");
    if (!rrset) throw new Error("router not created");
    rrset.records = ["hand-edited.example.org."];
    await h.advance(60_000);
    expect((await events("dns.drift", "desec")).length).toBe(0);
    await h.advance(240_000);
    const drift = await events("dns.drift", "desec");
    expect(drift.length).toBe(1);
    expect(h.desec.standin.rrsets(ZONE).get("svc0-router/CNAME")?.records).toEqual(["svc0-cf.example.net."]);
  });

  it("reports a router name holding an A record as a conflict and never replaces it", async () => {
    h = await startHarness({});
    h.cf.standin.seed(ZONE, { name: `svc0-router.${ZONE}`, type: "A", content: "192.0.2.1", ttl: 300 });
    await h.settle();
    expect(row(h, "cloudflare")?.state).toBe("error");
    expect(row(h, "cloudflare")?.error).toContain("holds an A/AAAA record");
    const records = [...h.cf.standin.records(ZONE).values()].filter((r) => r.name === `svc0-router.${ZONE}`);
    expect(records.map((r) => r.type)).toEqual(["A"]);
    expect(row(h, "desec")?.state).toBe("in-sync");
  });

  it("reports deSEC's refusal of a TTL below the domain minimum in status and as an alert", async () => {
    h = await startHarness({ desecTtl: 60 });
    await h.settle();
    expect(row(h, "desec")?.state).toBe("error");
    expect(row(h, "desec")?.error).toContain("greater than or equal to 3600");
    expect((await events("dns.error", "desec")).length).toBe(1);
    expect(row(h, "cloudflare")?.state).toBe("in-sync");
  });
});
