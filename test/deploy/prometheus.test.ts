/**
 * The Prometheus users' kit in deploy/prometheus/: promtool checks the scrape config and the rules and
 * runs the rules' unit tests; every metric the rules and the Grafana dashboard name is one a running
 * coordinator exposes on /metrics (the rules may also name the few planned ones listed here).
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeWithBinary } from "../support/binaries.ts";
import { type PushMesh, ROOT, startPushMesh } from "./support.ts";

const KIT = join(ROOT, "deploy/prometheus");
// Not exposed yet: the gauge coordinator.ha is to add (1 while a coordinator's control plane is frozen).
// Exposed only in HA mode (coordinator/metrics.ts, clusterFamilies); the single coordinator here has none.
const HA_ONLY = ["healthmesh_control_plane_frozen"];

async function promtool(binary: string, args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(binary, args, { cwd: KIT });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string }; // execFile's error carries the output
    return { code: failed.code ?? 1, output: `${failed.stdout ?? ""}${failed.stderr ?? ""}` };
  }
}

describeWithBinary(
  "deploy/prometheus with promtool",
  "promtool",
  { install: "apt-get install prometheus" },
  (binary) => {
    it("accepts the rules", async () => {
      const result = await promtool(binary, ["check", "rules", "healthmesh.rules.yml"]);
      expect(result.output).toContain("SUCCESS: 10 rules found");
      expect(result.code).toBe(0);
    });

    it("passes the rules' unit tests", async () => {
      const result = await promtool(binary, ["test", "rules", "healthmesh.rules.test.yml"]);
      expect(result.output).toContain("SUCCESS");
      expect(result.code).toBe(0);
    });

    it("accepts the example scrape config with the rule file", async () => {
      const result = await promtool(binary, ["check", "config", "prometheus.example.yml"]);
      expect(result.output).toContain("is valid prometheus config file syntax");
      expect(result.code).toBe(0);
    });
  },
);

/** The panels and targets of a Grafana dashboard, as far as this test reads them. */
interface Dashboard {
  panels: { title: string; targets: { expr: string }[] }[];
  templating: { list: { query?: string }[] };
  annotations: { list: { expr?: string }[] };
}

function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\bhealthmesh_[a-z_]+\b/g)].map((m) => m[0]);
}

describe("metric names in deploy/prometheus", () => {
  let mesh: PushMesh;
  let exposed: Set<string>;

  beforeAll(async () => {
    mesh = await startPushMesh("vps-hel");
    const text = await (await fetch(`${mesh.coordinator.url}/metrics`)).text();
    exposed = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] ?? ""));
  });

  afterAll(() => mesh?.close());

  it("the dashboard is valid JSON whose every query names exposed metrics only", () => {
    const dashboard = JSON.parse(readFileSync(join(KIT, "grafana-dashboard.json"), "utf8")) as Dashboard;
    const exprs = [
      ...dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr)),
      ...dashboard.templating.list.map((variable) => variable.query ?? ""),
      ...dashboard.annotations.list.map((annotation) => annotation.expr ?? ""),
    ];
    expect(dashboard.panels.length).toBeGreaterThan(10);
    for (const panel of dashboard.panels) expect(panel.targets.length, panel.title).toBeGreaterThan(0);
    const named = exprs.flatMap(metricNames);
    expect(named.length).toBeGreaterThan(20);
    expect(named.filter((name) => !exposed.has(name))).toEqual([]);
  });

  it("the rules name exposed metrics, or the HA-only ones the metrics code declares", () => {
    const rules = readFileSync(join(KIT, "healthmesh.rules.yml"), "utf8");
    const exprs = [...rules.matchAll(/expr: (\|\n(?:\s{10}.*\n)+|.*)/g)].map((m) => m[1] ?? "");
    expect(exprs).toHaveLength(10);
    const named = exprs.flatMap(metricNames);
    expect(named.filter((name) => !exposed.has(name) && !HA_ONLY.includes(name))).toEqual([]);
    const metricsSource = readFileSync(join(ROOT, "coordinator/metrics.ts"), "utf8");
    for (const name of HA_ONLY) expect(metricsSource, name).toContain(`"${name}"`);
  });
});
