import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { configJsonSchema, parseConfig } from "../../shared/config.ts";

const valid = `zone: example.com
providers:
  memory: {}
services:
  - name: web
    router: web-router
    primary:
      target: cf-front.example.com.
      check: { url: https://cf-front.example.com/healthz, bodyContains: ok, timeout: 5s }
    secondary:
      target: cdn2-front.example.com.
      check: { url: https://cdn2-front.example.com/healthz }
probes:
  interval: 10s
  members:
    - { id: a, provider: deno-deploy, mode: pull, url: https://hm.deno.dev, secretEnv: A }
    - { id: b, provider: fly, secretEnv: B }
    - { id: c, provider: hetzner, secretEnv: C }
`;

describe("parseConfig()", () => {
  it("fills the contract's defaults and parses durations", () => {
    const result = parseConfig(valid);
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    const svc = result.config.services[0];
    expect(svc).toMatchObject({
      ttl: 60,
      failAfter: 3,
      recoverAfter: 6,
      autoFailback: true,
      holdDown: 300_000,
    });
    expect(svc?.primary.check).toMatchObject({ timeout: 5000, expectStatus: [200] });
    expect(result.config.probes).toMatchObject({ interval: 10_000, quorum: "majority" });
    expect(result.config.coordinator.apiTokenEnv).toBe("HEALTHMESH_API_TOKEN");
    expect(result.warnings).toEqual([]);
  });

  it("accepts the example config of the contract", () => {
    const yaml = readFileSync(new URL("../fixtures/contract-example.yaml", import.meta.url), "utf8");
    const result = parseConfig(yaml);
    expect(result.ok ? [] : result.issues).toEqual([]);
  });

  it("reports every problem with its YAML path and line", () => {
    const bad = valid
      .replace("interval: 10s", "interval: 100ms")
      .replace("failAfter", "x")
      .replace("router: web-router", "router: web-router\n    failAfter: 0\n    colour: blue");
    const result = parseConfig(bad);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const byPath = Object.fromEntries(result.issues.map((i) => [i.path, i]));
    expect(byPath["probes.interval"]).toMatchObject({ line: 16 });
    expect(byPath["probes.interval"]?.message).toContain("minimum of 500 ms");
    expect(byPath["services[0].failAfter"]).toMatchObject({ line: 7 });
    expect(byPath["services[0].colour"]).toMatchObject({ line: 8 });
    expect(byPath["services[0].colour"]?.message).toBe('Unknown key "colour"');
    expect(result.issues).toHaveLength(3);
  });

  it.each([
    {
      why: "a check through the router itself",
      edit: (s: string) =>
        s.replace("https://cf-front.example.com/healthz", "https://web-router.example.com/healthz"),
      path: "services[0].primary.check.url",
      text: "router itself",
    },
    {
      why: "a router also declared as a record",
      edit: (s: string) =>
        s.replace(
          "services:",
          "records:\n  - { name: web-router, type: CNAME, value: x.example.com. }\nservices:",
        ),
      path: "services[0].router",
      text: "also declared under records",
    },
    {
      why: "duplicate probe ids",
      edit: (s: string) => s.replace("id: c,", "id: b,"),
      path: "probes.members[2].id",
      text: 'Duplicate probe id "b"',
    },
    {
      why: "a pull probe without url",
      edit: (s: string) => s.replace(", url: https://hm.deno.dev", ""),
      path: "probes.members[0].url",
      text: "needs a url",
    },
    {
      why: "no DNS provider",
      edit: (s: string) => s.replace("  memory: {}", "  {}").replace("providers:\n  {}", "providers: {}"),
      path: "providers",
      text: "at least one DNS provider",
    },
  ])("refuses $why", ({ edit, path, text }) => {
    const result = parseConfig(edit(valid));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.find((i) => i.path === path)?.message).toContain(text);
  });

  it("reports cross-reference problems beside schema problems in one run", () => {
    const bad = valid
      .replace("id: c, provider: hetzner,", "id: b, provider: hetzner, mode: sideways,")
      .replace("id: b, provider: fly,", "id: b, provider: fly, region: here,")
      .replace("https://cf-front.example.com/healthz", "https://web-router.example.com/healthz");
    const result = parseConfig(bad);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((i) => i.path)).toEqual([
      "probes.members[2].mode",
      "services[0].primary.check.url",
    ]);
    expect(result.issues[1]?.line).toBe(9);
  });

  it("cross-checks the rest when a value outside the lists is invalid", () => {
    const bad = valid.replace("interval: 10s", "interval: 100ms").replace("id: c,", "id: b,");
    const result = parseConfig(bad);
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.issues.map((i) => i.path)).toEqual(["probes.interval", "probes.members[2].id"]);
  });

  it("warns about fewer than 3 probes and probes on a single edge provider", () => {
    const result = parseConfig(
      valid.replace(/ {4}- \{ id: c.*\n/, "").replace("provider: deno-deploy", "provider: fly"),
    );
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    expect(result.warnings.map((w) => w.path)).toEqual(["probes.members", "probes.members"]);
    expect(result.warnings.map((w) => w.message).join(" ")).toMatch(/at least 3.*one edge provider/s);
  });

  it("accepts records and alerts written with no value, as empty", () => {
    const result = parseConfig(`${valid}records:\nalerts:\n`);
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    expect(result.config.records).toEqual([]);
    expect(result.config.alerts).toEqual([]);
  });

  it("reports invalid YAML with its line", () => {
    const result = parseConfig("zone: example.com\nservices: [\n");
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues[0]).toMatchObject({ path: "(yaml)", severity: "error" });
  });
});

describe("configJsonSchema()", () => {
  it("describes the config's keys for editors", () => {
    const schema = configJsonSchema() as { properties: Record<string, unknown>; required: string[] };
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(["zone", "providers", "records", "services", "probes", "alerts", "coordinator"]),
    );
    expect(schema.required).toEqual(expect.arrayContaining(["zone", "services", "probes"]));
  });
});
