/**
 * Chaos scenario 8: a probe whose clock is 5 minutes off (a real coordinator process). Its reports are
 * refused with 401 stale_timestamp and a message naming the clocks, counted in /metrics, and never counted
 * as votes; the same probe with a right clock does tip the quorum.
 */
import { afterEach, describe, expect, it } from "vitest";
import { PushProbe } from "../../probes/push.ts";
import { systemClock } from "../../shared/clock.ts";
import { lineLogger } from "../../shared/log.ts";
import { type Events, meshEnv, meshYaml, postReport, type Status, secretOf } from "./mesh.ts";
import { api, Cleanup, sleep, startCoordinator, TOKEN, until } from "./processes.ts";

const cleanup = new Cleanup();
afterEach(() => cleanup.run());
const probes = ["p1", "p2", "p3"];
const UNUSED = "http://127.0.0.1:9/never-checked";
const FIVE_MINUTES = 5 * 60_000;

describe("chaos: a probe with a skewed clock", () => {
  it("refuses the reports of a probe 5 minutes off with stale_timestamp and does not count them", async () => {
    const yaml = meshYaml({
      probes,
      primaryUrl: UNUSED,
      secondaryUrl: UNUSED,
      failAfter: 1,
      interval: "500ms",
    });
    const coordinator = await startCoordinator(yaml, meshEnv(probes), cleanup);

    // A real push probe whose clock runs 5 minutes fast: it cannot even fetch its assignments.
    const lines: string[] = [];
    const clock = systemClock();
    const fast = new PushProbe({
      id: "p3",
      secret: secretOf("p3"),
      coordinators: [coordinator.base],
      fetch,
      clock: { now: () => clock.now() + FIVE_MINUTES, setTimer: clock.setTimer },
      log: lineLogger((line) => lines.push(line)),
    });
    await fast.round();
    expect(lines.join("\n")).toMatch(/HTTP 401.*stale_timestamp/);

    const refusals: { status: number; code: string; message: string }[] = [];
    for (let round = 0; round < 6; round++) {
      await postReport(coordinator.base, "p1", { primary: false, secondary: true });
      await postReport(coordinator.base, "p2", { primary: true, secondary: true });
      for (const offset of [FIVE_MINUTES, -FIVE_MINUTES]) {
        const response = await postReport(
          coordinator.base,
          "p3",
          { primary: false, secondary: true },
          { nowMs: Date.now() + offset },
        );
        const body = (await response.json()) as { error: { code: string; message: string } }; // the API's error shape
        refusals.push({ status: response.status, ...body.error });
      }
      await sleep(250);
    }
    expect(refusals.every((r) => r.status === 401 && r.code === "stale_timestamp")).toBe(true);
    expect(refusals[0]?.message).toMatch(
      /more than 60 s from the coordinator's clock.*check the probe's clock/,
    );

    const status = await api<Status>(coordinator.base, "/v1/status");
    expect(status?.probes.find((p) => p.id === "p3")?.lastSeen).toBeNull();
    expect(status?.services[0]).toMatchObject({
      active: "primary",
      primary: { verdict: "unknown", votes: { down: 1, up: 1, abstain: 1 } },
    });
    const metrics = await (
      await fetch(`${coordinator.base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).text();
    const stale = Number(
      /healthmesh_reports_refused_total\{reason="stale_timestamp"\} (\d+)/.exec(metrics)?.[1],
    );
    expect(stale).toBeGreaterThanOrEqual(refusals.length + 1);

    // Control: the same probe with its clock right is counted, and its down vote tips the quorum.
    await postReport(coordinator.base, "p3", { primary: false, secondary: true });
    await until("the failover once p3's clock is right", async () =>
      (await api<Events>(coordinator.base, "/v1/events"))?.events.some((e) => e.type === "failover")
        ? true
        : undefined,
    );
  });
});
