/** `healthmesh alert test` on the pagers: a test incident opened and closed on each served stand-in, a bad key reported. */
import { afterAll, describe, expect, it } from "vitest";
import { runAlertTest } from "../../cli/alert.ts";
import { configFromObject } from "../../shared/config.ts";
import { type RunningOpsgenieStandin, startOpsgenieStandin } from "../../standins/opsgenie.ts";
import { type RunningPagerDutyStandin, startPagerDutyStandin } from "../../standins/pagerduty.ts";
import { configObject } from "../helpers.ts";

const ROUTING_KEY = "R0UT1NGKEY0123456789abcdef012345";
const served: (RunningPagerDutyStandin | RunningOpsgenieStandin)[] = [];
afterAll(async () => {
  await Promise.all(served.map((s) => s.close()));
});

describe("healthmesh alert test on pagers", () => {
  it("opens and closes a test incident on PagerDuty and Opsgenie, and names Opsgenie's refusal of a wrong key", async () => {
    const pd = await startPagerDutyStandin({ routingKeys: [ROUTING_KEY] });
    const og = await startOpsgenieStandin({ apiKeys: ["right-key"] });
    served.push(pd, og);
    const config = configFromObject({
      ...configObject(),
      alerts: [
        { type: "pagerduty", routingKeyEnv: "PD_KEY", apiBase: pd.apiBase },
        { type: "opsgenie", apiKeyEnv: "OG_KEY", apiBase: og.apiBase, name: "og-good" },
        { type: "opsgenie", apiKeyEnv: "OG_WRONG", apiBase: og.apiBase, name: "og-bad" },
      ],
    });
    const env: Record<string, string> = { PD_KEY: ROUTING_KEY, OG_KEY: "right-key", OG_WRONG: "wrong-key" };
    const lines: string[] = [];
    const code = await runAlertTest(config, { env: (n) => env[n], fetch, write: (l) => lines.push(l) });
    expect(code).toBe(1);
    expect(lines[0]).toMatch(/^ok {4} pagerduty \(pagerduty\): delivered in \d+ ms$/);
    expect(lines[1]).toMatch(/^ok {4} og-good \(opsgenie\): delivered in \d+ ms$/);
    expect(lines[2]).toBe(
      'FAILED og-bad (opsgenie): Cannot deliver to "og-bad": HTTP 401: Could not authenticate',
    );
    expect(pd.standin.incidents.map((i) => [i.dedupKey, i.severity, i.status])).toEqual([
      ["healthmesh:test", "info", "resolved"],
    ]);
    expect(og.standin.alerts.map((a) => [a.alias, a.priority, a.status])).toEqual([
      ["healthmesh:test", "P5", "closed"],
    ]);
  });
});
