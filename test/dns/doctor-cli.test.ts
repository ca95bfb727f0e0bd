import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { main } from "../../cli/main.ts";
import { startCloudflareStandin } from "../../standins/cloudflare.ts";
import { startDesecStandin } from "../../standins/desec.ts";
import {
  cloudflareSource,
  desecSource,
  type StandinDnsServer,
  startDnsServer,
} from "../../standins/dns-server.ts";

const ZONE = "example.com";
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function start(servers: StandinDnsServer[]) {
  for (const s of servers) closers.push(() => s.stop());
}

describe("healthmesh doctor", () => {
  it("prints each finding with its fix and exits 1 until both providers list each other and Cloudflare's multi-provider DNS is on", async () => {
    const cf = await startCloudflareStandin({ tokens: ["cf-token"], zones: [{ name: ZONE }] });
    const desec = await startDesecStandin({ tokens: ["ds-token"], domains: [{ name: ZONE }] });
    closers.push(
      () => cf.close(),
      () => desec.close(),
    );
    const all = ["ada.ns.cloudflare.com.", "bob.ns.cloudflare.com.", "ns1.desec.io.", "ns2.desec.org."];
    const cfNs = await startDnsServer({ zone: ZONE, source: cloudflareSource(cf.standin, ZONE) });
    const desecNs = await startDnsServer({
      zone: ZONE,
      source: desecSource(desec.standin, ZONE),
      nameservers: all.slice(2),
    });
    // The parent (com.) delegates to all four and has no DS: an unsigned delegation.
    const parent = await startDnsServer({
      zone: "com",
      source: () => [{ name: ZONE, type: "NS", ttl: 3600, values: all }],
    });
    await start([cfNs, desecNs, parent]);
    const dir = mkdtempSync(join(tmpdir(), "hm-doctor-"));
    closers.push(async () => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "healthmesh.yaml");
    writeFileSync(
      file,
      [
        `zone: ${ZONE}`,
        "providers:",
        `  cloudflare: { tokenEnv: HM_DOC_CF, apiBase: "${cf.apiBase}", nameservers: ["${cfNs.address}"] }`,
        `  desec: { tokenEnv: HM_DOC_DS, apiBase: "${desec.apiBase}", nameservers: ["${desecNs.address}"] }`,
        `nameserverChecks: { parent: ["${parent.address}"] }`,
        "services:",
        "  - name: web",
        "    router: web-router",
        "    desec: { ttl: 3600 }",
        "    primary: { target: cf-front.example.com., check: { url: https://cf-front.example.com/healthz } }",
        "    secondary: { target: cdn2-front.example.com., check: { url: https://cdn2-front.example.com/healthz } }",
        "probes:",
        "  members: [{ id: p1, provider: a, secretEnv: S }]",
      ].join("\n"),
    );
    process.env.HM_DOC_CF = "cf-token";
    process.env.HM_DOC_DS = "ds-token";
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    try {
      expect(await main(["doctor", "--config", file])).toBe(1);
      const printed = log.mock.calls.map((call) => String(call[0]));
      expect(printed).toContainEqual(expect.stringMatching(/^error +multi-provider +cloudflare: /));
      expect(printed).toContainEqual(
        expect.stringContaining(
          'fix: Turn it on: PATCH /zones/{zone_id}/dns_settings {"multi_provider": true}',
        ),
      );
      expect(printed).toContainEqual(
        expect.stringMatching(/^error +nameservers +desec: .*lacks ada\.ns\.cloudflare\.com\./),
      );
      expect(printed).toContainEqual(expect.stringMatching(/^ok +dnssec +Consistent \(unsigned\)/));
      log.mockClear();
      desec.standin.seed(ZONE, { subname: "", type: "NS", records: all });
      const zone = [...cf.standin.zones.values()][0];
      await fetch(`${cf.apiBase}/zones/${zone?.id}/dns_settings`, {
        method: "PATCH",
        headers: { authorization: "Bearer cf-token", "content-type": "application/json" },
        body: JSON.stringify({ multi_provider: true }),
      });
      for (const name of all.slice(2))
        cf.standin.seed(ZONE, { name: ZONE, type: "NS", content: name.slice(0, -1), ttl: 86_400 });
      expect(await main(["doctor", "--config", file])).toBe(0);
      const after = log.mock.calls.map((call) => String(call[0]));
      expect(after.filter((line) => line.startsWith("error"))).toEqual([]);
      expect(after).toContainEqual(
        expect.stringMatching(/^ok +delegation +The parent delegates example\.com to/),
      );
    } finally {
      log.mockRestore();
      delete process.env.HM_DOC_CF;
      delete process.env.HM_DOC_DS;
    }
  });
});
