/** The alert engine and /metrics share one set of counters in a real coordinator (coordinator/node.ts). */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { startCoordinator } from "../../coordinator/node.ts";
import { startSink } from "../../demo/origins.ts";
import { configFromObject } from "../../shared/config.ts";
import { silentLogger } from "../../shared/log.ts";
import { configObject } from "../helpers.ts";

it("counts a delivered alert in healthmesh_alert_deliveries_total", async () => {
  const sink = await startSink();
  const dir = mkdtempSync(join(tmpdir(), "hm-metrics-"));
  const config = configFromObject({
    ...configObject(),
    alerts: [{ type: "webhook", name: "ops", urlEnv: "HOOK_URL", groupWait: "0s", events: ["pause"] }],
  });
  const env = {
    HEALTHMESH_API_TOKEN: "t",
    HOOK_URL: `${sink.url}/hook`,
    SECRET_P1: "a",
    SECRET_P2: "b",
    SECRET_P3: "c",
  };
  const running = await startCoordinator({
    config,
    dataDir: dir,
    host: "127.0.0.1",
    port: 0,
    env,
    log: silentLogger,
  });
  try {
    await running.coordinator.pause("web", { actor: "test" });
    const deadline = Date.now() + 10_000;
    while (sink.received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(sink.received).toHaveLength(1);
    const text = await (
      await fetch(`${running.url}/metrics`, { headers: { authorization: "Bearer t" } })
    ).text();
    expect(text).toMatch(/^healthmesh_alert_deliveries_total\{destination="ops"\} 1$/m);
    expect(text).toMatch(/^healthmesh_alert_failures_total\{destination="ops"\} 0$/m);
  } finally {
    await running.close();
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
