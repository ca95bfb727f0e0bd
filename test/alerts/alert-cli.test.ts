import { afterAll, describe, expect, it } from "vitest";
import { runAlertTest, testAlerts } from "../../cli/alert.ts";
import { UsageError } from "../../cli/util.ts";
import { configFromObject } from "../../shared/config.ts";
import { configObject } from "../helpers.ts";
import { type Receiver, startReceiver } from "./receivers.ts";

const receivers: Receiver[] = [];
afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
});

describe("healthmesh alert test", () => {
  it("sends one test message per destination and reports delivered, refused and unconfigured ones", async () => {
    const slack = await startReceiver("slack");
    const discord = await startReceiver("discord");
    receivers.push(slack, discord);
    discord.fail("429");
    const config = configFromObject({
      ...configObject(),
      alerts: [
        { type: "slack", urlEnv: "SLACK_URL", name: "ops-slack" },
        { type: "discord", urlEnv: "DISCORD_URL" },
        { type: "telegram", tokenEnv: "TG_TOKEN", chatId: 42 },
      ],
    });
    const env: Record<string, string> = { SLACK_URL: slack.target, DISCORD_URL: discord.target };
    const lines: string[] = [];
    const code = await runAlertTest(config, { env: (n) => env[n], fetch, write: (l) => lines.push(l) });
    expect(code).toBe(1);
    expect(lines[0]).toMatch(/^ok {4} ops-slack \(slack\): delivered in \d+ ms$/);
    expect(lines[1]).toBe(
      'FAILED discord (discord): Cannot deliver to "discord": rate limited: You are being rate limited. (the platform asks to retry after 2500 ms)',
    );
    expect(lines[2]).toBe(
      'FAILED telegram (telegram): Cannot set up alert "telegram" (telegram): missing secret: set TG_TOKEN (tokenEnv)',
    );
    expect(lines[3]).toBe("1 delivered, 2 failed");
    expect(JSON.stringify(slack.accepted[0]?.body)).toContain("healthmesh test alert");
  });

  it("sends only to the destination named by --to and refuses an unknown name", async () => {
    const slack = await startReceiver("slack");
    receivers.push(slack);
    const config = configFromObject({
      ...configObject(),
      alerts: [
        { type: "slack", urlEnv: "SLACK_URL", name: "a" },
        { type: "slack", urlEnv: "SLACK_URL", name: "b" },
      ],
    });
    const env = (n: string) => (n === "SLACK_URL" ? slack.target : undefined);
    const results = await testAlerts(config, { env, fetch, to: "b" });
    expect(results.map((r) => [r.name, r.ok])).toEqual([["b", true]]);
    expect(slack.accepted).toHaveLength(1);
    await expect(testAlerts(config, { env, fetch, to: "c" })).rejects.toThrow(
      new UsageError('Unknown alert destination "c": configured are a, b'),
    );
  });
});
