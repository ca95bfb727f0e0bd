/**
 * Address routers (CONTRACT §3 addition, issue 12): a path gives `addresses` and the router is an A/AAAA
 * RRset pair, switched on Cloudflare and deSEC (stand-ins here; PowerDNS for real in test/pdns) with the
 * guarantees of a CNAME router. When one path has only IPv4, failing over to it deletes the AAAA RRset
 * and failing back creates it again: the router serves exactly the live path's addresses.
 */
import { afterEach, describe, expect, it } from "vitest";
import { runValidateOnline } from "../../cli/zone.ts";
import type { Config } from "../../shared/config-schema.ts";
import { type Harness, row, startHarness, ZONE } from "./harness.ts";

const V4 = "192.0.2.10";
const V6 = "2001:db8::10";
const SECONDARY_V4 = "198.51.100.20";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** What Cloudflare serves at `name`: type → sorted contents (A/AAAA/MX/…). */
function cfAt(harness: Harness, name: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const r of harness.cf.standin.records(ZONE).values()) {
    if (r.name === name) out[r.type] = [...(out[r.type] ?? []), r.content].sort();
  }
  return out;
}

/** What deSEC serves at `subname`: type → records. */
function desecAt(harness: Harness, subname: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const r of harness.desec.standin.rrsets(ZONE).values()) {
    if (r.subname === subname) out[r.type] = [...r.records].sort();
  }
  return out;
}

describe("an apex address router", () => {
  async function apex() {
    const harness = await startHarness({
      addresses: () => ({ router: "@", primary: [V4, V6], secondary: [SECONDARY_V4] }),
    });
    // The apex holds more than the router: MX on Cloudflare; deSEC keeps its own NS there.
    harness.cf.standin.seed(ZONE, { name: ZONE, type: "MX", content: "mail.example.com", ttl: 3600 });
    return harness;
  }

  it("fails over and back on Cloudflare and deSEC: AAAA deleted on the IPv4-only path, created again on the way back", async () => {
    h = await apex();
    await h.settle();
    expect(cfAt(h, ZONE)).toEqual({ A: [V4], AAAA: [V6], MX: ["mail.example.com"] });
    expect(desecAt(h, "")).toEqual({ A: [V4], AAAA: [V6], NS: ["ns1.desec.io.", "ns2.desec.org."] });
    expect(row(h, "cloudflare", ZONE)).toMatchObject({ state: "in-sync", target: `${V4}, ${V6}` });

    await h.vote(false);
    await h.settle();
    expect(h.coordinator.service("svc0").active).toBe("secondary");
    expect(cfAt(h, ZONE)).toEqual({ A: [SECONDARY_V4], MX: ["mail.example.com"] });
    expect(desecAt(h, "")).toEqual({ A: [SECONDARY_V4], NS: ["ns1.desec.io.", "ns2.desec.org."] });
    for (const provider of ["cloudflare", "desec"]) {
      expect(row(h, provider, ZONE)).toMatchObject({ state: "in-sync", target: SECONDARY_V4 });
    }

    await h.vote(true);
    await h.advance(2000);
    await h.vote(true);
    await h.settle();
    expect(h.coordinator.service("svc0").active).toBe("primary");
    expect(cfAt(h, ZONE)).toEqual({ A: [V4], AAAA: [V6], MX: ["mail.example.com"] });
    expect(desecAt(h, "")).toEqual({ A: [V4], AAAA: [V6], NS: ["ns1.desec.io.", "ns2.desec.org."] });
    const switched = (await h.coordinator.events({})).filter((e) => e.type === "dns.switched");
    expect(switched.map((e) => `${e.provider}`).sort()).toEqual([
      "cloudflare",
      "cloudflare",
      "cloudflare",
      "desec",
      "desec",
      "desec",
    ]);
  });

  it("puts back a hand-added AAAA on the IPv4-only path as drift", async () => {
    h = await apex();
    await h.settle();
    await h.vote(false);
    await h.settle();
    h.cf.standin.seed(ZONE, { name: ZONE, type: "AAAA", content: "2001:db8::99", ttl: 60 });
    await h.advance(61_000);
    expect(cfAt(h, ZONE)).toEqual({ A: [SECONDARY_V4], MX: ["mail.example.com"] });
    const drift = (await h.coordinator.events({})).filter((e) => e.type === "dns.drift");
    expect(drift.map((e) => e.message)).toEqual([
      `Drift on cloudflare: "${ZONE}" serves "${SECONDARY_V4}, 2001:db8::99" TTL 60, putting back "${SECONDARY_V4}" TTL 60`,
    ]);
  });
});

describe("address routers keep the CNAME routers' guarantees", () => {
  it("switches 20 address routers with one batch on Cloudflare and one bulk PATCH on deSEC", async () => {
    h = await startHarness({
      services: 20,
      addresses: (i) => ({
        primary: [`192.0.2.${i + 1}`],
        secondary: [`198.51.100.${i + 1}`, `2001:db8::${i + 1}`],
      }),
      desec: { limits: { write: [{ limit: 100, windowMs: 1000 }], read: [{ limit: 100, windowMs: 1000 }] } },
    });
    await h.settle();
    h.cf.standin.requests.reset();
    h.desec.standin.requests.reset();
    await h.vote(false);
    await h.settle();
    expect(h.cf.standin.requests.get("POST", "/zones/:zone/dns_records/batch")).toBe(1);
    expect(h.desec.standin.requests.get("PATCH", "/domains/:name/rrsets/")).toBe(1);
    const states = h.coordinator.reconciler.states();
    expect(states.filter((s) => s.state === "in-sync")).toHaveLength(40);
    expect(desecAt(h, "svc7-router")).toEqual({ A: ["198.51.100.8"], AAAA: ["2001:db8::8"] });
  });

  it("never replaces a CNAME at an address router's name: that router alone is an error on that provider", async () => {
    h = await startHarness({
      services: 3,
      addresses: (i) => ({ primary: [`192.0.2.${i + 1}`], secondary: [`198.51.100.${i + 1}`] }),
    });
    h.cf.standin.seed(ZONE, {
      name: `svc1-router.${ZONE}`,
      type: "CNAME",
      content: "someone.example.org",
      ttl: 300,
    });
    await h.settle();
    await h.vote(false);
    await h.settle();
    expect(row(h, "cloudflare", `svc1-router.${ZONE}`)).toMatchObject({ state: "error" });
    expect(row(h, "cloudflare", `svc1-router.${ZONE}`)?.error).toContain(
      "it holds a CNAME record, which healthmesh never replaces",
    );
    expect(cfAt(h, `svc1-router.${ZONE}`)).toEqual({ CNAME: ["someone.example.org"] });
    expect(row(h, "desec", `svc1-router.${ZONE}`)).toMatchObject({
      state: "in-sync",
      target: "198.51.100.2",
    });
    for (const i of [0, 2]) {
      expect(cfAt(h, `svc${i}-router.${ZONE}`)).toEqual({ A: [`198.51.100.${i + 1}`] });
    }
  });
});

describe("validate --online with address routers", () => {
  it("passes an apex address router (deSEC's NS and an MX at the apex are not conflicts) and names a CNAME at an address router", async () => {
    h = await startHarness({
      services: 2,
      addresses: (i) => ({
        ...(i === 0 ? { router: "@" } : {}),
        primary: [`192.0.2.${i + 1}`],
        secondary: [`198.51.100.${i + 1}`],
      }),
    });
    h.cf.standin.seed(ZONE, { name: ZONE, type: "MX", content: "mail.example.com", ttl: 3600 });
    const lines: string[] = [];
    const env: Record<string, string> = {
      CF_TOKEN: "cf-token-0123456789",
      DESEC_TOKEN: "desec-token-0123456789",
    };
    const validate = () =>
      runValidateOnline(h?.config as Config, { env: (n) => env[n], fetch, write: (l) => lines.push(l) });
    expect(await validate()).toBe(0);
    expect(lines.filter((l) => l.startsWith("error"))).toEqual([]);
    h.desec.standin.seed(ZONE, {
      subname: "svc1-router",
      type: "CNAME",
      records: ["elsewhere.example.org."],
    });
    lines.length = 0;
    expect(await validate()).toBe(1);
    expect(lines.find((l) => l.startsWith("error   desec:"))).toContain(
      'Cannot switch "svc1-router.example.com" on desec: it holds a CNAME record, which healthmesh never replaces',
    );
  });
});
