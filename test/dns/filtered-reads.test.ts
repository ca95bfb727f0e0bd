/**
 * Reads that follow what changed (issue 14): a switch of a few routers reads only those routers
 * (deSEC `?subname=`, Cloudflare `?name=`), many fall back to the paged listing, drift checks still
 * list the zone and find a hand edit — and deSEC's read budget holds through a day of drift checks,
 * rechecks and switches. Request counts come from the clients' own fetch and the stand-ins' counters.
 */
import { afterEach, describe, expect, it } from "vitest";
import { BIG_ZONE, type BigZone, type Sent, startBigZone } from "./big-zone.ts";

let zone: BigZone | undefined;
afterEach(async () => {
  await zone?.close();
  zone = undefined;
});

const of = (z: BigZone, provider: Sent["provider"], from = 0) =>
  z.sent.slice(from).filter((s) => s.provider === provider);
const describeSent = (list: Sent[]) => list.map((s) => `${s.method} ${s.url.pathname}${s.url.search}`);

/** Moves router `i` to a new target and returns the index in `sent` where its round's requests start. */
function switchRouter(z: BigZone, indexes: number[], to = "b"): number {
  const from = z.sent.length;
  z.desired = z.desired.map((d, i) =>
    indexes.includes(i) ? { ...d, target: `${to}-${i}.example.net.` } : d,
  );
  z.reconciler.setDesired(z.desired);
  return from;
}

async function synced(routers: number, providers?: ("desec" | "cloudflare")[]): Promise<BigZone> {
  const z = await startBigZone({ routers, ...(providers ? { providers } : {}) });
  z.reconciler.setDesired(z.desired);
  await z.drive();
  expect(z.reconciler.states().every((r) => r.state === "in-sync")).toBe(true);
  return z;
}

describe("a switch in a zone of 10,000 routers", () => {
  it("costs one filtered read and one write on deSEC and on Cloudflare", async () => {
    zone = await synced(10_000);
    // The first round read the whole zone once: deSEC's 500-RRset pages, Cloudflare's 1000-record pages.
    expect(zone.desecClient.listingPages).toBe(21);
    expect(zone.cfClient.listingPages).toBe(10);
    const from = switchRouter(zone, [17]);
    await zone.drive();
    expect(describeSent(of(zone, "desec", from))).toEqual([
      `GET /api/v1/domains/${BIG_ZONE}/rrsets/?subname=r17`,
      `PATCH /api/v1/domains/${BIG_ZONE}/rrsets/`,
    ]);
    expect(describeSent(of(zone, "cloudflare", from))).toEqual([
      expect.stringMatching(
        /^GET \/client\/v4\/zones\/\w+\/dns_records\?per_page=100&name=r17\.example\.com$/,
      ),
      expect.stringMatching(/^POST \/client\/v4\/zones\/\w+\/dns_records\/batch$/),
    ]);
    const rows = zone.reconciler.states().filter((r) => r.router === `r17.${BIG_ZONE}`);
    expect(rows.map((r) => [r.provider, r.state, r.target])).toEqual([
      ["desec", "in-sync", "b-17.example.net."],
      ["cloudflare", "in-sync", "b-17.example.net."],
    ]);
    expect(zone.desec.standin.rrsets(BIG_ZONE).get("r17/CNAME")?.records).toEqual(["b-17.example.net."]);
    expect(zone.events.filter((e) => e.type === "dns.switched")).toHaveLength(2);
  });

  it("falls back to the paged listing when reading the routers one by one would cost more", async () => {
    zone = await synced(10_000);
    const many = Array.from({ length: 100 }, (_, i) => i * 7);
    const from = switchRouter(zone, many);
    await zone.drive();
    const desec = of(zone, "desec", from);
    // 100 names > the 21 pages of the listing: the listing is cheaper, every page once, then one bulk PATCH.
    expect(desec.filter((s) => s.method === "GET")).toHaveLength(21);
    expect(desec.filter((s) => s.method === "GET").every((s) => s.url.searchParams.has("cursor"))).toBe(true);
    expect(desec.filter((s) => s.method !== "GET").map((s) => s.method)).toEqual(["PATCH"]);
    const cf = of(zone, "cloudflare", from);
    expect(cf.filter((s) => s.method === "GET")).toHaveLength(10);
    expect(cf.filter((s) => s.method === "GET").some((s) => s.url.searchParams.has("name"))).toBe(false);
    expect(cf.filter((s) => s.method !== "GET")).toHaveLength(1);
    const moved = zone.reconciler.states().filter((r) => r.target?.startsWith("b-"));
    expect(moved).toHaveLength(200);
    expect(moved.every((r) => r.state === "in-sync")).toBe(true);
  });

  it("reads up to as many names one by one as the listing has pages, and no more", async () => {
    zone = await synced(10_000, ["desec"]);
    let from = switchRouter(
      zone,
      Array.from({ length: 21 }, (_, i) => i),
    );
    await zone.drive(); // 21 filtered reads take 3 s of deSEC's 10 reads a second
    let gets = of(zone, "desec", from).filter((s) => s.method === "GET");
    expect(gets).toHaveLength(21);
    expect(gets.every((s) => s.url.searchParams.has("subname"))).toBe(true);
    await zone.clock.advance(60_000);
    from = switchRouter(
      zone,
      Array.from({ length: 22 }, (_, i) => i),
      "c",
    );
    await zone.drive();
    gets = of(zone, "desec", from).filter((s) => s.method === "GET");
    expect(gets).toHaveLength(21);
    expect(gets.every((s) => s.url.searchParams.has("cursor"))).toBe(true);
  });
});

describe("drift checks", () => {
  it("still list the whole zone and put back a hand edit, paced by the zone's size on deSEC", async () => {
    zone = await synced(10_000);
    // 21 pages a check within 1400 background reads a day: one check every 21.6 minutes.
    expect(zone.desecClient.driftCheckMs).toBe(1_296_000);
    zone.desec.standin.rrsets(BIG_ZONE).set("r5/CNAME", {
      ...(zone.desec.standin.rrsets(BIG_ZONE).get("r5/CNAME") as NonNullable<
        ReturnType<ReturnType<BigZone["desec"]["standin"]["rrsets"]>["get"]>
      >), // seeded above
      records: ["hand-edit.example.net."],
    });
    for (const r of zone.cf.standin.records(BIG_ZONE).values()) {
      if (r.name === `r5.${BIG_ZONE}`) r.content = "hand-edit.example.net";
    }
    const from = zone.sent.length;
    // A switch in between reads only its own router: it does not see the hand edit.
    switchRouter(zone, [9]);
    await zone.drive();
    expect(zone.events.filter((e) => e.type === "dns.drift")).toHaveLength(0);
    await zone.advance(1_296_000, 60_000);
    const drift = zone.events.filter((e) => e.type === "dns.drift");
    expect(drift.map((e) => e.provider).sort()).toEqual(["cloudflare", "desec"]);
    expect(drift.every((e) => e.message.includes(`"r5.${BIG_ZONE}"`))).toBe(true);
    expect(zone.desec.standin.rrsets(BIG_ZONE).get("r5/CNAME")?.records).toEqual(["a-5.example.net."]);
    const desecLists = of(zone, "desec", from).filter((s) => s.url.searchParams.has("cursor"));
    expect(desecLists).toHaveLength(21); // exactly one listing in 21.6 minutes
  });
});

describe("deSEC's read budget", () => {
  it("holds through a day of drift checks, rechecks every 3 minutes and a switch every 10 minutes at 10,000 routers", async () => {
    zone = await synced(10_000, ["desec"]);
    const z = zone;
    const DAY = 86_400_000;
    let switches = 0;
    for (let t = 0; t < DAY; t += 60_000) {
      if (t % 600_000 === 0) {
        switchRouter(z, [switches % 50], `v${switches}`);
        switches++;
      } else if (t % 180_000 === 0) {
        z.reconciler.kick("desec"); // an operator's retry, or the nameserver watch asking: a full read
      }
      await z.advance(60_000, 10_000);
    }
    const sent = of(z, "desec");
    // The stand-in enforces deSEC's windows (10/s and 50/min reads, 2000/day requests): nothing was refused.
    expect(sent.filter((s) => s.status !== 200)).toEqual([]);
    const day = sent.filter((s) => s.at > z.clock.now() - DAY);
    expect(day.length).toBeLessThanOrEqual(2000);
    // Every switch went through: one bulk PATCH each, and the last one is served.
    expect(sent.filter((s) => s.method === "PATCH")).toHaveLength(switches);
    const last = (switches - 1) % 50;
    expect(z.desec.standin.rrsets(BIG_ZONE).get(`r${last}/CNAME`)?.records).toEqual([
      `v${switches - 1}-${last}.example.net.`,
    ]);
    // Drift checks kept listing the zone, within their share of the day (1400 reads = 66 listings).
    const listings = sent.filter((s) => s.url.search === "?cursor=").length;
    expect(listings).toBeGreaterThanOrEqual(60);
    expect(listings * 21).toBeLessThanOrEqual(1400 + 21);
  }, 300_000);
});
