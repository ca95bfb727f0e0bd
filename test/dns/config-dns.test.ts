/**
 * What a provider would refuse is refused by `validate` and at the coordinator's start (both go through
 * parseConfig), offline: Cloudflare's TTL range, a CNAME router at the apex. And starting never depends on
 * a provider's API being reachable.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startCoordinator } from "../../coordinator/node.ts";
import { parseConfig } from "../../shared/config.ts";
import { silentLogger } from "../../shared/log.ts";
import { parseRouterValue } from "../../shared/router-value.ts";
import { startCloudflareStandin } from "../../standins/cloudflare.ts";
import { startDesecStandin } from "../../standins/desec.ts";

function yaml(
  service: string[],
  providers = ["  cloudflare: { tokenEnv: CF }", "  desec: { tokenEnv: DS }"],
) {
  return [
    "zone: example.com",
    "providers:",
    ...providers,
    "services:",
    "  - name: web",
    ...service.map((l) => `    ${l}`),
    "probes:",
    "  members: [{ id: p1, provider: a, secretEnv: S }]",
  ].join("\n");
}
const cnamePaths = [
  "primary: { target: a.example.net., check: { url: https://a.example.net/ } }",
  "secondary: { target: b.example.net., check: { url: https://b.example.net/ } }",
];
const addressPaths = [
  "primary: { addresses: [192.0.2.10, '2001:DB8:0:0::10'], check: { url: https://a.example.net/ } }",
  "secondary: { addresses: [198.51.100.7], check: { url: https://b.example.net/ } }",
];

function errors(text: string) {
  const result = parseConfig(text);
  return result.ok ? [] : result.issues.filter((i) => i.severity === "error");
}

describe("Cloudflare TTL limits, checked offline", () => {
  it("refuses a router TTL of 30 when Cloudflare is configured, naming the path, the rule and the fix", () => {
    const found = errors(yaml(["router: web-router", "ttl: 30", ...cnamePaths]));
    expect(found).toHaveLength(1);
    expect(found[0]?.path).toBe("services[0].ttl");
    expect(found[0]?.message).toContain(
      "TTL 30 is one Cloudflare refuses (it takes 1 for automatic, or 60 to 86400)",
    );
    expect(found[0]?.message).toContain("services[0].cloudflare.ttl to 60 or more");
  });

  it("points at services[].cloudflare.ttl when the override is the bad one, and accepts 1 and 60", () => {
    expect(errors(yaml(["router: r", "cloudflare: { ttl: 59 }", ...cnamePaths]))[0]?.path).toBe(
      "services[0].cloudflare.ttl",
    );
    expect(errors(yaml(["router: r", "ttl: 1", ...cnamePaths]))).toEqual([]);
    expect(errors(yaml(["router: r", "ttl: 30", "cloudflare: { ttl: 60 }", ...cnamePaths]))).toEqual([]);
  });

  it("leaves a TTL of 30 alone when Cloudflare is not a provider", () => {
    expect(
      errors(
        yaml(
          ["router: r", "ttl: 30", ...cnamePaths],
          ["  powerdns: { apiBase: http://127.0.0.1:1, apiKeyEnv: K }"],
        ),
      ),
    ).toEqual([]);
  });
});

describe("apex and address routers in the config", () => {
  it("refuses a CNAME router at the apex and says to write addresses", () => {
    const found = errors(yaml(["router: '@'", ...cnamePaths]));
    expect(found.map((f) => f.path)).toEqual(["services[0].primary.target", "services[0].secondary.target"]);
    expect(found[0]?.message).toContain("cannot be a CNAME");
    expect(found[0]?.message).toContain("give services[0].primary.addresses");
  });

  it("accepts an apex router with addresses; target becomes the canonical address set", () => {
    const result = parseConfig(yaml(["router: '@'", ...addressPaths]));
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    const svc = result.config.services[0];
    expect(svc?.primary.target).toBe("192.0.2.10, 2001:db8::10");
    expect(parseRouterValue(svc?.primary.target ?? "")).toEqual({
      kind: "addresses",
      ipv4: ["192.0.2.10"],
      ipv6: ["2001:db8::10"],
    });
    expect(svc?.secondary.target).toBe("198.51.100.7");
  });

  it("refuses a path with both target and addresses, with neither, or paths of two kinds", () => {
    const both =
      "primary: { target: a.example.net., addresses: [192.0.2.1], check: { url: https://a.example.net/ } }";
    expect(errors(yaml(["router: r", both, cnamePaths[1] as string]))[0]?.message).toContain("either target");
    const mixed = errors(yaml(["router: r", cnamePaths[0] as string, addressPaths[1] as string]));
    expect(mixed[0]?.message).toContain("never switched between the two");
    expect(
      errors(
        yaml([
          "router: r",
          "primary: { addresses: [not-an-ip], check: { url: https://a.example.net/ } }",
          cnamePaths[1] as string,
        ]),
      ).length,
    ).toBeGreaterThan(0);
  });
});

describe("coordinator start never waits on a provider API", () => {
  it("starts with the Cloudflare and deSEC APIs both down", async () => {
    const cf = await startCloudflareStandin({ tokens: ["t"], zones: [{ name: "example.com" }] });
    const desec = await startDesecStandin({ tokens: ["t"], domains: [{ name: "example.com" }] });
    await cf.down();
    await desec.down();
    const dataDir = mkdtempSync(join(tmpdir(), "hm-apidown-"));
    try {
      const parsed = parseConfig(
        yaml(
          ["router: '@'", "desec: { ttl: 3600 }", ...addressPaths],
          [
            `  cloudflare: { tokenEnv: CF, apiBase: "${cf.apiBase}" }`,
            `  desec: { tokenEnv: DS, apiBase: "${desec.apiBase}" }`,
          ],
        ),
      );
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
      const running = await startCoordinator({
        config: parsed.config,
        dataDir,
        host: "127.0.0.1",
        port: 0,
        env: { CF: "t", DS: "t", S: "s", HEALTHMESH_API_TOKEN: "api" },
        log: silentLogger,
      });
      const health = await fetch(`${running.url}/healthz`);
      expect(health.status).toBe(200);
      await running.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      await cf.close();
      await desec.close();
    }
  });
});
