/**
 * `healthmesh doctor` against real DNS: a PowerDNS server plays the parent zone (`com.`, with the
 * delegation and the DS records), the Cloudflare and deSEC stand-ins serve the child zone over DNS,
 * and a second PowerDNS signs a child zone itself (its DS computed by PowerDNS, not by us).
 */
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { type DoctorFinding, runDoctor } from "../../coordinator/dns/doctor.ts";
import { UdpNameserverClient } from "../../coordinator/dns/nameserver-udp.ts";
import { systemClock } from "../../shared/clock.ts";
import { configFromObject } from "../../shared/config.ts";
import { type RunningCloudflareStandin, startCloudflareStandin } from "../../standins/cloudflare.ts";
import { type RunningDesecStandin, startDesecStandin } from "../../standins/desec.ts";
import {
  cloudflareSource,
  desecSource,
  type StandinDnsServer,
  startDnsServer,
} from "../../standins/dns-server.ts";
import { dsOf } from "../../standins/dnssec-keys.ts";
import { describeWithBinary } from "../support/binaries.ts";
import { PDNS_INSTALL, type PdnsServer, startPdns } from "./pdns-server.ts";

const ZONE = "example.com";
const CF_NS = ["ada.ns.cloudflare.com.", "bob.ns.cloudflare.com."];
const DESEC_NS = ["ns1.desec.io.", "ns2.desec.org."];
const env: Record<string, string> = {
  CF_TOKEN: "cf-token-0123456789",
  DESEC_TOKEN: "desec-token-0123456789",
};

async function pdnsApi(pdns: PdnsServer, method: string, path: string, body?: unknown): Promise<Response> {
  const response = await fetch(`${pdns.apiBase}/servers/localhost/${path}`, {
    method,
    headers: { "x-api-key": pdns.apiKey, "content-type": "application/json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (response.status >= 300)
    throw new Error(`PowerDNS ${method} ${path}: ${response.status} ${await response.text()}`);
  return response;
}

/** Sets the delegation of example.com in the parent: its NS names and these DS values (none: no DS RRset). */
async function delegate(parent: PdnsServer, ns: string[], ds: string[]): Promise<void> {
  const rrset = (type: string, values: string[]) => ({
    name: `${ZONE}.`,
    type,
    ttl: 3600,
    changetype: values.length > 0 ? "REPLACE" : "DELETE",
    records: values.map((content) => ({ content, disabled: false })),
  });
  await pdnsApi(parent, "PATCH", "zones/com.", { rrsets: [rrset("NS", ns), rrset("DS", ds)] });
}

describeWithBinary(
  "healthmesh doctor with a real parent",
  "pdns_server",
  { install: PDNS_INSTALL },
  (binary) => {
    let parent: PdnsServer;
    let cf: RunningCloudflareStandin;
    let desec: RunningDesecStandin;
    let servers: StandinDnsServer[] = [];
    beforeAll(async () => {
      parent = await startPdns(binary);
      await pdnsApi(parent, "POST", "zones", { name: "com.", kind: "Native", nameservers: ["a.gtld.test."] });
    });
    afterAll(async () => {
      await parent?.stop();
    });
    afterEach(async () => {
      await Promise.all(servers.map((s) => s.stop()));
      servers = [];
      await cf?.close();
      await desec?.close();
    });

    async function twoProviders() {
      cf = await startCloudflareStandin({ tokens: [env.CF_TOKEN ?? ""], zones: [{ name: ZONE }] });
      desec = await startDesecStandin({ tokens: [env.DESEC_TOKEN ?? ""], domains: [{ name: ZONE }] });
      const cfNs = await startDnsServer({ zone: ZONE, source: cloudflareSource(cf.standin, ZONE) });
      const desecNs = await startDnsServer({
        zone: ZONE,
        source: desecSource(desec.standin, ZONE),
        nameservers: DESEC_NS,
      });
      servers = [cfNs, desecNs];
      const config = configFromObject({
        zone: ZONE,
        providers: {
          cloudflare: { tokenEnv: "CF_TOKEN", apiBase: cf.apiBase, nameservers: [cfNs.address] },
          desec: { tokenEnv: "DESEC_TOKEN", apiBase: desec.apiBase, nameservers: [desecNs.address] },
        },
        nameserverChecks: { parent: [`127.0.0.1:${parent.dnsPort}`] },
        services: [
          {
            name: "web",
            router: "web-router",
            primary: { target: "a.example.net.", check: { url: "https://a.example.net/" } },
            secondary: { target: "b.example.net.", check: { url: "https://b.example.net/" } },
          },
        ],
        probes: { members: [{ id: "p1", provider: "x", secretEnv: "S" }] },
      });
      const doctor = () =>
        runDoctor(config, {
          env: (n) => env[n],
          fetch,
          client: new UdpNameserverClient(),
          clock: systemClock(),
        });
      return { doctor };
    }

    /** Both providers serve all four NS names and Cloudflare's multi-provider DNS is on. */
    async function crossListNameservers(): Promise<void> {
      desec.standin.seed(ZONE, { subname: "", type: "NS", records: [...CF_NS, ...DESEC_NS] });
      const zone = [...cf.standin.zones.values()][0];
      if (zone) zone.multiProvider = true;
      for (const name of DESEC_NS)
        cf.standin.seed(ZONE, { name: ZONE, type: "NS", content: name.slice(0, -1), ttl: 86_400 });
    }

    const dnssec = (findings: DoctorFinding[]) => findings.filter((f) => f.check === "dnssec");
    const errors = (findings: DoctorFinding[], check: DoctorFinding["check"]) =>
      findings.filter((f) => f.check === check && f.level === "error");

    it("says consistent (unsigned) when the parent has no DS, though deSEC signs", async () => {
      const { doctor } = await twoProviders();
      await crossListNameservers();
      await delegate(parent, [...CF_NS, ...DESEC_NS], []);
      const findings = await doctor();
      expect(dnssec(findings)).toEqual([
        expect.objectContaining({ level: "ok", message: expect.stringContaining("Consistent (unsigned)") }),
      ]);
      expect(findings.filter((f) => f.level === "error")).toEqual([]);
      expect(findings).toContainEqual(expect.objectContaining({ check: "delegation", level: "ok" }));
      expect(findings).toContainEqual(expect.objectContaining({ check: "multi-provider", level: "ok" }));
    });

    it("says broken, with the DS to add, when the parent's DS matches deSEC's key only and Cloudflare does not sign", async () => {
      const { doctor } = await twoProviders();
      await crossListNameservers();
      const desecDs = await (
        await fetch(`${desec.apiBase}/domains/${ZONE}/`, {
          headers: { authorization: `Token ${env.DESEC_TOKEN}` },
        })
      ).json();
      await delegate(parent, [...CF_NS, ...DESEC_NS], desecDs.keys[0].ds);
      const findings = await doctor();
      const problems = errors(findings, "dnssec");
      expect(problems[0]?.message).toContain("broken across providers");
      expect(problems.find((p) => p.provider === "cloudflare")?.message).toContain(
        "cloudflare serves no DNSKEY",
      );
      expect(problems.find((p) => p.provider === "cloudflare")?.fix).toContain(
        "Turn on DNSSEC at cloudflare",
      );
    });

    it("says broken with the exact DS line and the keys to cross-publish when both sign but the parent has deSEC's DS only", async () => {
      const { doctor } = await twoProviders();
      await crossListNameservers();
      const zone = [...cf.standin.zones.values()][0];
      await fetch(`${cf.apiBase}/zones/${zone?.id}/dnssec`, {
        method: "PATCH",
        headers: { authorization: `Bearer ${env.CF_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ status: "active" }),
      });
      const cfKey = zone?.dnssec.key;
      if (!cfKey) throw new Error("the stand-in made no key");
      const desecKey = desec.standin.domains.get(ZONE)?.key;
      if (!desecKey) throw new Error("the stand-in made no key");
      await delegate(parent, [...CF_NS, ...DESEC_NS], await dsOf(ZONE, desecKey, [2]));
      const findings = await doctor();
      const cfProblems = errors(findings, "dnssec").filter((p) => p.provider === "cloudflare");
      const [cfDs] = await dsOf(ZONE, cfKey, [2]);
      expect(cfProblems.map((p) => p.fix).join("\n")).toContain(`${ZONE}. IN DS ${cfDs}`);
      const desecProblems = errors(findings, "dnssec").filter((p) => p.provider === "desec");
      expect(desecProblems[0]?.message).toContain("does not publish the DNSKEYs of cloudflare");
      expect(desecProblems[0]?.fix).toContain(cfKey.dnskey.key);
    });

    it("says consistent (multi-signer) when the DS covers both and each provider publishes the other's key", async () => {
      const { doctor } = await twoProviders();
      await crossListNameservers();
      const zone = [...cf.standin.zones.values()][0];
      if (!zone) throw new Error("no zone");
      await fetch(`${cf.apiBase}/zones/${zone.id}/dnssec`, {
        method: "PATCH",
        headers: { authorization: `Bearer ${env.CF_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ status: "active", dnssec_multi_signer: true }),
      });
      const cfKey = zone.dnssec.key;
      const desecKey = desec.standin.domains.get(ZONE)?.key;
      if (!cfKey || !desecKey) throw new Error("the stand-ins made no keys");
      desec.standin.seed(ZONE, { subname: "", type: "DNSKEY", records: [cfKey.text] });
      cf.standin.seed(ZONE, { name: ZONE, type: "DNSKEY", content: desecKey.text, ttl: 3600 });
      await delegate(
        parent,
        [...CF_NS, ...DESEC_NS],
        [...(await dsOf(ZONE, cfKey, [2])), ...(await dsOf(ZONE, desecKey, [2]))],
      );
      const findings = await doctor();
      expect(dnssec(findings)).toEqual([
        expect.objectContaining({
          level: "ok",
          message: expect.stringContaining("Consistent (multi-signer)"),
        }),
      ]);
      expect(findings.filter((f) => f.level === "error")).toEqual([]);
    });

    it("names the missing NS records, the registrar fix and Cloudflare's multi-provider setting when the providers do not list each other", async () => {
      const { doctor } = await twoProviders();
      await delegate(parent, DESEC_NS, []);
      const findings = await doctor();
      const ns = errors(findings, "nameservers");
      expect(ns.find((f) => f.provider === "desec")?.fix).toContain(
        "Add NS records ada.ns.cloudflare.com., bob.ns.cloudflare.com.",
      );
      expect(ns.find((f) => f.provider === "cloudflare")?.fix).toContain("ns1.desec.io., ns2.desec.org.");
      expect(errors(findings, "delegation")[0]?.fix).toContain("At the registrar, set the nameservers");
      expect(errors(findings, "multi-provider")[0]?.fix).toContain('"multi_provider": true');
    });

    it("agrees with PowerDNS's own DS for a zone PowerDNS signs (single signer)", async () => {
      const child = await startPdns(binary, { dnssec: true });
      try {
        await pdnsApi(child, "POST", "zones", {
          name: `${ZONE}.`,
          kind: "Native",
          nameservers: ["ns1.example-child.test."],
          dnssec: true,
        });
        const keys = (await (await pdnsApi(child, "GET", `zones/${ZONE}./cryptokeys`)).json()) as {
          ds?: string[];
        }[];
        const ds = keys.flatMap((k) => k.ds ?? []);
        expect(ds.length).toBeGreaterThan(0);
        await delegate(parent, ["ns1.example-child.test."], ds);
        const config = configFromObject({
          zone: ZONE,
          providers: {
            powerdns: { apiBase: child.apiBase, apiKeyEnv: "K", nameservers: [`127.0.0.1:${child.dnsPort}`] },
          },
          nameserverChecks: { parent: [`127.0.0.1:${parent.dnsPort}`] },
          services: [
            {
              name: "web",
              router: "web-router",
              primary: { target: "a.example.net.", check: { url: "https://a.example.net/" } },
              secondary: { target: "b.example.net.", check: { url: "https://b.example.net/" } },
            },
          ],
          probes: { members: [{ id: "p1", provider: "x", secretEnv: "S" }] },
        });
        const findings = await runDoctor(config, {
          env: (n) => (n === "K" ? child.apiKey : undefined),
          fetch,
          client: new UdpNameserverClient(),
          clock: systemClock(),
        });
        expect(dnssec(findings)).toEqual([
          expect.objectContaining({
            level: "ok",
            message: expect.stringContaining("Consistent (single-signer)"),
          }),
        ]);
        // The same DS with one digest byte changed is a broken chain.
        const bad = ds.map((line) => line.replace(/([0-9a-f])$/i, (c) => (c === "0" ? "1" : "0")));
        await delegate(parent, ["ns1.example-child.test."], bad);
        const broken = await runDoctor(config, {
          env: (n) => (n === "K" ? child.apiKey : undefined),
          fetch,
          client: new UdpNameserverClient(),
          clock: systemClock(),
        });
        expect(errors(broken, "dnssec")[1]?.message).toContain("matches none of the DNSKEYs powerdns serves");
      } finally {
        await child.stop();
      }
    });
  },
);
