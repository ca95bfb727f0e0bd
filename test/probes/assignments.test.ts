import { describe, expect, it } from "vitest";
import { confirmSettings } from "../../coordinator/confirm.ts";
import { configFromObject } from "../../shared/config.ts";
import { assignmentsSchema, FEATURES_HEADER } from "../../shared/protocol.ts";
import { signedHeaders } from "../../shared/signing.ts";
import { configObject, secretOf, testCoordinator } from "../helpers.ts";

async function assignments(
  app: Awaited<ReturnType<typeof testCoordinator>>["app"],
  nowMs: number,
  features?: string,
) {
  const headers = await signedHeaders("p1", secretOf("p1"), "", nowMs);
  const response = await app.request("/v1/probes/p1/assignments", {
    headers: { ...headers, ...(features ? { [FEATURES_HEADER]: features } : {}) },
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown> & { checks: Record<string, unknown>[] };
}

describe("assignments and fast confirmation", () => {
  it("serve confirmIntervalMs, maxConfirming and each check's failAfter only to a probe that asks", async () => {
    const config = configFromObject(
      configObject({ probesExtra: { confirmInterval: "2s", maxConfirming: 4 } }),
    );
    const { app, clock, coordinator } = await testCoordinator({ config });
    const plain = await assignments(app, clock.now());
    expect(Object.keys(plain).sort()).toEqual(["canaries", "checks", "intervalMs", "probe"]);
    expect(plain.checks.every((c) => !("failAfter" in c))).toBe(true);
    const asked = await assignments(app, clock.now(), "confirm,skipped");
    expect(assignmentsSchema.safeParse(asked).success).toBe(true);
    expect(asked).toMatchObject({ confirmIntervalMs: 2000, maxConfirming: 4 });
    expect(asked.checks.map((c) => c.failAfter)).toEqual([3, 3]);
    coordinator.stop();
  });

  it("default to a quarter of the interval and 16 endpoints; 0s turns confirmation off", () => {
    const base = configFromObject(configObject()).probes;
    expect(confirmSettings(base)).toEqual({ confirmIntervalMs: 2500, maxConfirming: 16 });
    const off = configFromObject(configObject({ probesExtra: { confirmInterval: "0s" } })).probes;
    expect(confirmSettings(off).confirmIntervalMs).toBe(0);
  });
});
