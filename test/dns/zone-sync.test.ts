import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runApply, runPlan } from "../../cli/zone.ts";
import { declaredRecords, planRecords } from "../../coordinator/dns/zone-sync.ts";
import { configFromObject } from "../../shared/config.ts";
import { type RunningCloudflareStandin, startCloudflareStandin } from "../../standins/cloudflare.ts";
import { type RunningDesecStandin, startDesecStandin } from "../../standins/desec.ts";

const ZONE = "example.com";
let cf: RunningCloudflareStandin;
let desec: RunningDesecStandin;
let out: string[];
const env: Record<string, string> = { CF: "cf-token", DS: "ds-token" };
const zoneWorld = () => ({ env: (n: string) => env[n], fetch, write: (line: string) => out.push(line) });

function config(records: unknown[]) {
  return configFromObject({
    zone: ZONE,
    providers: {
      cloudflare: { tokenEnv: "CF", apiBase: cf.apiBase },
      desec: { tokenEnv: "DS", apiBase: desec.apiBase },
    },
    records,
    services: [
      {
        name: "web",
        router: "web-router",
        desec: { ttl: 3600 },
        primary: { target: "cf-front.example.com.", check: { url: "https://cf-front.example.com/healthz" } },
        secondary: {
          target: "cdn2-front.example.com.",
          check: { url: "https://cdn2-front.example.com/healthz" },
        },
      },
    ],
    probes: { members: [{ id: "p1", provider: "a", secretEnv: "S" }] },
  });
}

const records = [
  { name: "www", type: "CNAME", value: "web-router.example.com.", ttl: 3600 },
  {
    name: "cf-front",
    type: "CNAME",
    value: "www.example.com.cdn.cloudflare.net.",
    ttl: 3600,
    cloudflare: { type: "A", value: ["192.0.2.10"], proxied: true },
  },
  { name: "mail", type: "MX", value: "10 mx.example.net.", ttl: 3600 },
  { name: "txt", type: "TXT", value: "v=spf1 -all", ttl: 3600 },
];

beforeEach(async () => {
  out = [];
  cf = await startCloudflareStandin({ tokens: ["cf-token"], zones: [{ name: ZONE }] });
  desec = await startDesecStandin({ tokens: ["ds-token"], domains: [{ name: ZONE }] });
});
afterEach(async () => {
  await Promise.all([cf.close(), desec.close()]);
});

describe("zone sync", () => {
  it("plans creates per provider with Cloudflare's own values, then apply makes both providers unchanged", async () => {
    const c = config(records);
    expect(await runPlan(c, zoneWorld())).toBe(0);
    expect(out).toContain("cloudflare (zone example.com): 4 to create, 0 to update, 0 unchanged");
    expect(out).toContain("  + cf-front A 3600 192.0.2.10 (proxied)");
    expect(out).toContain("  + cf-front CNAME 3600 www.example.com.cdn.cloudflare.net.");
    out = [];
    expect(await runApply(c, zoneWorld(), { yes: true, force: false })).toBe(0);
    expect(out).toEqual(
      expect.arrayContaining(["cloudflare: applied 4 record set(s)", "desec: applied 4 record set(s)"]),
    );
    expect(cf.standin.requests.get("POST", "/zones/:zone/dns_records/batch")).toBe(1);
    expect(desec.standin.requests.get("PATCH", "/domains/:name/rrsets/")).toBe(1);
    expect(desec.standin.rrsets(ZONE).get("txt/TXT")?.records).toEqual(['"v=spf1 -all"']);
    out = [];
    await runPlan(c, zoneWorld());
    expect(out).toContain("cloudflare (zone example.com): 0 to create, 0 to update, 4 unchanged");
    expect(out).toContain("desec (zone example.com): 0 to create, 0 to update, 4 unchanged");
  });

  it("never touches undeclared records or the router, even when the router is failed over", async () => {
    cf.standin.seed(ZONE, { name: `other.${ZONE}`, type: "A", content: "198.51.100.7", ttl: 300 });
    cf.standin.seed(ZONE, {
      name: `web-router.${ZONE}`,
      type: "CNAME",
      content: "cdn2-front.example.com",
      ttl: 60,
    });
    desec.standin.seed(ZONE, {
      subname: "web-router",
      type: "CNAME",
      records: ["cdn2-front.example.com."],
      ttl: 3600,
    });
    expect(await runApply(config(records), zoneWorld(), { yes: true, force: false })).toBe(0);
    const cfRecords = [...cf.standin.records(ZONE).values()];
    expect(cfRecords.find((r) => r.name === `other.${ZONE}`)?.content).toBe("198.51.100.7");
    expect(cfRecords.find((r) => r.name === `web-router.${ZONE}`)?.content).toBe("cdn2-front.example.com");
    expect(desec.standin.rrsets(ZONE).get("web-router/CNAME")?.records).toEqual(["cdn2-front.example.com."]);
    expect(out.join("\n")).not.toContain("web-router CNAME");
  });

  it("refuses to update more than 30 % of the declared records without --force", async () => {
    const c = config(records);
    await runApply(c, zoneWorld(), { yes: true, force: false });
    const changed = config(records.map((r, i) => (i < 2 ? { ...r, ttl: 7200 } : r)));
    out = [];
    expect(await runApply(changed, zoneWorld(), { yes: true, force: false })).toBe(2);
    expect(out).toContain(
      "Cannot apply to desec: 2 of 4 declared records would change (50 %, more than 30 %); check the plan and re-run with --force",
    );
    expect(desec.standin.rrsets(ZONE).get("www/CNAME")?.ttl).toBe(3600);
    out = [];
    expect(await runApply(changed, zoneWorld(), { yes: true, force: true })).toBe(0);
    expect(desec.standin.rrsets(ZONE).get("www/CNAME")?.ttl).toBe(7200);
  });

  it("plan and apply refuse before writing to any provider when a declared record's deSEC TTL is below minimum_ttl", async () => {
    const c = config([...records, { name: "api", type: "CNAME", value: "x.example.net.", ttl: 300 }]);
    expect(await runPlan(c, zoneWorld())).toBe(2);
    expect(out).toContain(
      'Cannot write record "api" CNAME to deSEC: TTL 300 (records[4].ttl) is below the domain minimum 3600; deSEC refuses it, so apply would leave the providers different. Fix: set records[4].desec.ttl to 3600 or more',
    );
    out = [];
    expect(await runApply(c, zoneWorld(), { yes: true, force: true })).toBe(2);
    expect(out.some((l) => l.includes("records[4].desec.ttl"))).toBe(true);
    expect(out.at(-1)).toBe("Nothing applied: fix the TTLs above first");
    expect(cf.standin.records(ZONE).size).toBe(0);
    expect([...desec.standin.rrsets(ZONE).keys()]).toEqual(["/NS"]); // only deSEC's own apex NS
    expect(cf.standin.requests.get("POST", "/zones/:zone/dns_records/batch")).toBe(0);
  });

  it("applies nothing without --yes when there is no terminal to confirm on", async () => {
    expect(await runApply(config(records), zoneWorld(), { yes: false, force: false })).toBe(2);
    expect(out.at(-1)).toBe(
      "Nothing applied: no terminal to confirm on, re-run with --yes to apply this plan",
    );
    expect(cf.standin.records(ZONE).size).toBe(0);
  });

  it("asks on the terminal without --yes: no applies nothing, yes applies", async () => {
    const asked: string[] = [];
    const answering = (answer: boolean) => ({
      ...zoneWorld(),
      confirm: async (question: string) => {
        asked.push(question);
        return answer;
      },
    });
    expect(await runApply(config(records), answering(false), { yes: false, force: false })).toBe(0);
    expect(out.at(-1)).toBe("Nothing applied");
    expect(cf.standin.records(ZONE).size).toBe(0);
    expect(await runApply(config(records), answering(true), { yes: false, force: false })).toBe(0);
    expect(asked).toEqual(["Apply this plan? [y/N] ", "Apply this plan? [y/N] "]);
    expect(cf.standin.records(ZONE).size).toBeGreaterThan(0);
  });

  it("reports a declared CNAME over an undeclared A record as a conflict and leaves it", () => {
    const c = config([{ name: "api", type: "CNAME", value: "x.example.net.", ttl: 300 }]);
    const plan = planRecords("cloudflare", declaredRecords(c, "cloudflare"), [
      { name: `api.${ZONE}`, type: "A", values: ["192.0.2.1"], ttl: 300 },
    ]);
    expect(plan.ok && plan.actions[0]?.kind).toBe("conflict");
  });
});
