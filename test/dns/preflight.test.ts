import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { main } from "../../cli/main.ts";
import { runValidateOnline } from "../../cli/zone.ts";
import { EnvError, startCoordinator } from "../../coordinator/node.ts";
import { configFromObject } from "../../shared/config.ts";
import { silentLogger } from "../../shared/log.ts";
import { type RunningCloudflareStandin, startCloudflareStandin } from "../../standins/cloudflare.ts";
import { type RunningDesecStandin, startDesecStandin } from "../../standins/desec.ts";

const ZONE = "example.com";
let cf: RunningCloudflareStandin;
let desec: RunningDesecStandin;
let out: string[];
const env: Record<string, string> = {
  CF: "cf-token",
  DS: "ds-token",
  S: "probe-secret",
  HEALTHMESH_API_TOKEN: "api",
};

function config(service: Record<string, unknown> = {}) {
  return configFromObject(configInput(service));
}

function configInput(service: Record<string, unknown> = {}) {
  return {
    zone: ZONE,
    providers: {
      cloudflare: { tokenEnv: "CF", apiBase: cf.apiBase },
      desec: { tokenEnv: "DS", apiBase: desec.apiBase },
    },
    services: [
      {
        name: "web",
        router: "web-router",
        ttl: 60,
        primary: { target: "cf-front.example.com.", check: { url: "https://cf-front.example.com/healthz" } },
        secondary: {
          target: "cdn2-front.example.com.",
          check: { url: "https://cdn2-front.example.com/healthz" },
        },
        ...service,
      },
    ],
    probes: { members: [{ id: "p1", provider: "a", secretEnv: "S" }] },
  };
}
const validate = (c = config()) =>
  runValidateOnline(c, { env: (n) => env[n], fetch, write: (l) => out.push(l) });

beforeEach(async () => {
  out = [];
  cf = await startCloudflareStandin({ tokens: ["cf-token"], zones: [{ name: ZONE }] });
  desec = await startDesecStandin({ tokens: ["ds-token"], domains: [{ name: ZONE, minimumTtl: 3600 }] });
});
afterEach(async () => {
  await Promise.all([cf.close(), desec.close()]);
});

describe("validate --online", () => {
  it("exits 2 naming the TTL, the minimum and the fix when a router TTL is below deSEC's minimum_ttl", async () => {
    expect(await validate()).toBe(2);
    console.log(`validate --online, deSEC minimum_ttl 3600, router TTL 60:\n${out.join("\n")}`);
    const line = out.find((l) => l.startsWith("error   desec:"));
    expect(line).toContain(
      'Cannot switch "web-router" on deSEC: TTL 60 (services[0].ttl) is below the domain minimum 3600',
    );
    expect(line).toContain("set services[0].desec.ttl to 3600 or more");
    expect(out).toContain(
      `ok      cloudflare: token can see zone "${ZONE}" (id ${[...cf.standin.zones.keys()][0]})`,
    );
    expect(out.some((l) => l.includes("minimum_ttl 3600"))).toBe(true);
  });

  it("passes with services[].desec.ttl at the minimum and says what that TTL means for failover time", async () => {
    expect(await validate(config({ desec: { ttl: 3600 } }))).toBe(0);
    expect(
      out.some(
        (l) => l.startsWith("warning desec: router TTL 3600 s on desec") && l.includes("up to 60 min"),
      ),
    ).toBe(true);
  });

  it("exits 2 naming each declared record whose deSEC TTL is below minimum_ttl, its YAML path and the fix", async () => {
    const c = configFromObject({
      ...configInput({ desec: { ttl: 3600 } }),
      records: [
        { name: "www", type: "CNAME", value: "web-router.example.com.", ttl: 300 },
        { name: "mail", type: "MX", value: "10 mx.example.net.", ttl: 300, desec: { ttl: 3600 } },
        { name: "txt", type: "TXT", value: "v=spf1 -all", ttl: 3600, desec: { ttl: 600 } },
      ],
    });
    expect(await validate(c)).toBe(2);
    const errors = out.filter((l) => l.startsWith("error   desec:"));
    expect(errors).toHaveLength(2);
    expect(errors[0]).toContain(
      'Cannot write record "www" CNAME to deSEC: TTL 300 (records[0].ttl) is below the domain minimum 3600',
    );
    expect(errors[0]).toContain("set records[0].desec.ttl to 3600 or more");
    expect(errors[1]).toContain("TTL 600 (records[2].desec.ttl) is below the domain minimum 3600");
    expect(errors[1]).toContain("set records[2].desec.ttl to 3600 or more");
    expect(out.join("\n")).not.toContain("records[1]");
  });

  it("exits 1 with the provider's words for a token it refuses", async () => {
    env.DS = "wrong";
    try {
      expect(await validate(config({ desec: { ttl: 3600 } }))).toBe(1);
      expect(out.find((l) => l.startsWith("error   desec:"))).toContain("Invalid token.");
    } finally {
      env.DS = "ds-token";
    }
  });
});

describe("healthmesh CLI", () => {
  it("wires validate --online (exit 2 on the TTL) and plan (exit 0) through main()", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hm-cli-"));
    const file = join(dir, "healthmesh.yaml");
    const yaml = [
      `zone: ${ZONE}`,
      "providers:",
      `  cloudflare: { tokenEnv: HM_TEST_CF, apiBase: "${cf.apiBase}" }`,
      `  desec: { tokenEnv: HM_TEST_DS, apiBase: "${desec.apiBase}" }`,
      "records:",
      "  - { name: www, type: CNAME, value: web-router.example.com., ttl: 3600 }",
      "services:",
      "  - name: web",
      "    router: web-router",
      "    ttl: 60",
      "    primary: { target: cf-front.example.com., check: { url: https://cf-front.example.com/healthz } }",
      "    secondary: { target: cdn2-front.example.com., check: { url: https://cdn2-front.example.com/healthz } }",
      "probes:",
      "  members: [{ id: p1, provider: a, secretEnv: S }]",
    ].join("\n");
    writeFileSync(file, yaml);
    process.env.HM_TEST_CF = "cf-token";
    process.env.HM_TEST_DS = "ds-token";
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    try {
      expect(await main(["validate", "--online", "--config", file])).toBe(2);
      expect(await main(["plan", "--config", file])).toBe(0);
      const printed = log.mock.calls.map((call) => String(call[0]));
      expect(printed).toContain("  + www CNAME 3600 web-router.example.com.");
      expect(await main(["apply", "--config", file])).toBe(2);
      expect(cf.standin.records(ZONE).size).toBe(0);
    } finally {
      log.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("coordinator start", () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), "hm-preflight-"));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it("fails with EnvError (exit 2) when a router TTL is below deSEC's minimum_ttl", async () => {
    const start = startCoordinator({
      config: config(),
      dataDir,
      host: "127.0.0.1",
      port: 0,
      env,
      log: silentLogger,
    });
    await expect(start).rejects.toBeInstanceOf(EnvError);
    await expect(start).rejects.toThrow(
      /TTL 60 \(services\[0\]\.ttl\) is below the domain minimum 3600.*services\[0\]\.desec\.ttl/,
    );
  });

  it("starts when deSEC cannot be reached, leaving the TTL check to the first write", async () => {
    await desec.down();
    const running = await startCoordinator({
      config: config(),
      dataDir,
      host: "127.0.0.1",
      port: 0,
      env,
      log: silentLogger,
    });
    await running.close();
  });
});
