/** The Alertmanager sender on its own: every member is posted to, one answering is enough, auth and config. */
import { describe, expect, it } from "vitest";
import { AlertmanagerSender } from "../../coordinator/alerts/alertmanager.ts";
import { createDestinations } from "../../coordinator/alerts/factory.ts";
import type { AlertMessage } from "../../coordinator/alerts/message.ts";
import { DeliveryError } from "../../coordinator/alerts/sender.ts";
import { ManualClock } from "../../shared/clock.ts";
import { configFromObject } from "../../shared/config.ts";
import { configObject } from "../helpers.ts";

const message: AlertMessage = {
  key: "web",
  severity: "critical",
  type: "failover",
  title: "Failover",
  lines: [],
  facts: [],
  events: [],
  episodes: [
    {
      action: "open",
      id: "healthmesh:example.com:web:failover",
      kind: "failover",
      zone: "example.com",
      service: "web",
      severity: "critical",
      summary: "failover of web",
      eventType: "failover",
      eventId: 1,
      at: "2026-01-01T00:00:00.000Z",
    },
  ],
};

function members(answers: Record<string, () => Response>) {
  const calls: { url: string; headers: Headers; body: string }[] = [];
  const fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    calls.push({ url, headers: new Headers(init?.headers), body: String(init?.body) });
    const answer = answers[new URL(url).host];
    if (!answer) throw new TypeError("fetch failed", { cause: new Error("connect ECONNREFUSED") });
    return answer();
  };
  return { fetch, calls };
}

describe("AlertmanagerSender", () => {
  it("posts to every member and counts the alert delivered when one of them took it", async () => {
    const http = members({ "am-2.test": () => new Response("", { status: 200 }) });
    const clock = new ManualClock();
    const sender = new AlertmanagerSender(
      "am",
      { urls: ["http://am-1.test", "http://am-2.test/prefix/"], resendIntervalMs: 60_000 },
      { fetch: http.fetch, clock },
    );
    await sender.send(message, { id: "d", attempt: 1 });
    expect(http.calls.map((c) => c.url)).toEqual([
      "http://am-1.test/api/v2/alerts",
      "http://am-2.test/prefix/api/v2/alerts",
    ]);
    const [alert] = JSON.parse(http.calls[1]?.body ?? "[]") as { labels: unknown; endsAt: string }[];
    expect(alert?.labels).toEqual({
      alertname: "HealthmeshFailover",
      severity: "critical",
      zone: "example.com",
      service: "web",
    });
    expect(alert?.endsAt).toBe(new Date(clock.now() + 240_000).toISOString());
  });

  it("fails retryably when no member took it, and permanently when every member refused it (400)", async () => {
    const clock = new ManualClock();
    const down = new AlertmanagerSender(
      "am",
      { urls: ["http://am-1.test"], resendIntervalMs: 60_000 },
      {
        fetch: members({}).fetch,
        clock,
      },
    );
    const error = await down.send(message, { id: "d", attempt: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect(error).toMatchObject({ retryable: true });
    const bad = members({ "am-1.test": () => new Response('"labels: invalid label set"', { status: 400 }) });
    const refused = new AlertmanagerSender(
      "am",
      { urls: ["http://am-1.test"], resendIntervalMs: 60_000 },
      {
        fetch: bad.fetch,
        clock,
      },
    );
    const refusal = await refused.send(message, { id: "d", attempt: 1 }).catch((e: unknown) => e);
    expect(refusal).toMatchObject({ retryable: false });
    expect(String(refusal)).toContain("HTTP 400");
  });

  it("sends basic auth from usernameEnv/passwordEnv, and refuses half of it", async () => {
    const http = members({ "am.test": () => new Response("", { status: 200 }) });
    const config = (extra: Record<string, unknown>) =>
      configFromObject({
        ...configObject(),
        alerts: [{ type: "alertmanager", urls: ["http://am.test"], ...extra }],
      });
    const env: Record<string, string> = { AM_USER: "hm", AM_PASS: "s3cret" };
    const world = { fetch: http.fetch, clock: new ManualClock() };
    const [ok] = createDestinations(config({ usernameEnv: "AM_USER", passwordEnv: "AM_PASS" }), {
      env: (n) => env[n],
      world,
    });
    if (!ok?.ok) throw new Error("expected a destination");
    await ok.sender.send(message, { id: "d", attempt: 1 });
    expect(http.calls[0]?.headers.get("authorization")).toBe(`Basic ${btoa("hm:s3cret")}`);
    const [half] = createDestinations(config({ usernameEnv: "AM_USER" }), { env: (n) => env[n], world });
    expect(half).toMatchObject({ ok: false });
    expect(half?.ok ? "" : half?.message).toContain("basic auth needs both usernameEnv and passwordEnv");
  });

  it("config: Opsgenie's region picks its API base; PagerDuty and Alertmanager defaults", () => {
    const config = configFromObject({
      ...configObject(),
      alerts: [
        { type: "opsgenie", apiKeyEnv: "OG", region: "eu" },
        { type: "pagerduty", routingKeyEnv: "PD" },
        { type: "alertmanager", urls: ["http://am-1:9093"] },
      ],
    });
    const destinations = createDestinations(config, {
      env: () => "k",
      world: { fetch: members({}).fetch, clock: new ManualClock() },
    });
    const targets = destinations.map((d) =>
      d.ok ? (d.sender as unknown as { target: unknown }).target : null,
    ); // test-only reach-in
    expect(targets).toMatchObject([
      { apiBase: "https://api.eu.opsgenie.com" },
      { apiBase: "https://events.pagerduty.com" },
      { urls: ["http://am-1:9093"], resendIntervalMs: 60_000 },
    ]);
  });
});
