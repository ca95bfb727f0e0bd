import { describe, expect, it } from "vitest";
import { createDestinations, destinationNames } from "../../coordinator/alerts/factory.ts";
import { ManualClock } from "../../shared/clock.ts";
import { parseConfig } from "../../shared/config.ts";

const base = `zone: example.com
providers: { memory: {} }
services:
  - name: web
    router: web-router
    primary: { target: a.example.com., check: { url: "https://a.example.com/" } }
    secondary: { target: b.example.com., check: { url: "https://b.example.com/" } }
probes:
  members: [{ id: p1, provider: x, secretEnv: S1 }]
`;

const withAlerts = (alerts: string) => parseConfig(`${base}alerts:\n${alerts}`);
const problems = (alerts: string) => {
  const result = withAlerts(alerts);
  return result.ok ? [] : result.issues.map((i) => `${i.path}: ${i.message}`);
};

describe("alerts config", () => {
  it("accepts every destination type with env names and fills routing defaults", () => {
    const result = withAlerts(`
  - { type: slack, urlEnv: SLACK_URL }
  - { type: discord, urlEnv: DISCORD_URL, minSeverity: warning }
  - { type: teams, urlEnv: TEAMS_URL, events: [failover, failback] }
  - { type: mattermost, urlEnv: MM_URL, channel: ops }
  - { type: googlechat, urlEnv: GCHAT_URL }
  - { type: matrix, homeserver: "https://matrix.example.org", room: "!abc:example.org", tokenEnv: MX_TOKEN }
  - { type: ntfy, urlEnv: NTFY_URL, tokenEnv: NTFY_TOKEN }
  - { type: telegram, tokenEnv: TG_TOKEN, chatId: -1001234 }
  - { type: webhook, urlEnv: HOOK_URL, secretEnv: HOOK_SECRET, groupWait: 0s, repeatInterval: 1h, rateLimit: { messages: 3, per: 10s } }
`);
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    const [slack, , teams, , , , , telegram, webhook] = result.config.alerts;
    expect(slack).toMatchObject({ minSeverity: "info", groupWait: 10_000, repeatInterval: 300_000 });
    expect(teams?.events).toEqual(["failover", "failback"]);
    expect(telegram).toMatchObject({ apiBase: "https://api.telegram.org" });
    expect(webhook).toMatchObject({
      groupWait: 0,
      repeatInterval: 3_600_000,
      rateLimit: { messages: 3, per: 10_000 },
    });
  });

  it("refuses a secret written in the file, a missing env name, an unknown event and a bad room", () => {
    expect(problems("  - { type: slack, url: https://hooks.slack.com/services/T/B/X }").join("\n")).toMatch(
      /alerts\[0\]/,
    );
    expect(problems("  - { type: telegram, chatId: 1 }").join("\n")).toMatch(/alerts\[0\]\.tokenEnv/);
    expect(problems("  - { type: webhook, urlEnv: 'not an env' }").join("\n")).toMatch(
      /alerts\[0\]\.urlEnv: Must be an environment variable name/,
    );
    expect(problems("  - { type: discord, urlEnv: D, events: [failover, dns.exploded] }").join("\n")).toMatch(
      /alerts\[0\]\.events\[1\]/,
    );
    expect(
      problems("  - { type: matrix, homeserver: 'https://m.org', room: general, tokenEnv: T }").join("\n"),
    ).toMatch(/alerts\[0\]\.room/);
    expect(problems("  - { type: pager, urlEnv: P }").join("\n")).toMatch(/alerts\[0\]\.type/);
  });

  it("names destinations by name, else type, and reports each missing env variable by path", () => {
    const result = withAlerts(`
  - { type: slack, urlEnv: A }
  - { type: webhook, urlEnv: B, secretEnv: C }
  - { type: webhook, urlEnv: B, name: audit }
`);
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    expect(destinationNames(result.config.alerts)).toEqual(["slack", "webhook", "audit"]);
    const env: Record<string, string> = { B: "http://hook.test/", C: "whsec_c2VjcmV0" };
    const built = createDestinations(result.config, {
      env: (n) => env[n],
      world: { fetch, clock: new ManualClock() },
    });
    expect(built.map((d) => d.ok)).toEqual([false, true, true]);
    expect(built[0]).toMatchObject({
      ok: false,
      path: "alerts[0]",
      message: 'Cannot set up alert "slack" (slack): missing secret: set A (urlEnv)',
    });
  });
});
