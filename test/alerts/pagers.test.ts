/**
 * Pager destinations on a fake clock, against the PagerDuty and Opsgenie stand-ins served in-process
 * (their Hono apps as `fetch`): the episode table, routing of closing events, refusals and retry hints.
 */
import { describe, expect, it } from "vitest";
import { AlertDispatcher } from "../../coordinator/alerts/dispatcher.ts";
import { episodeChangesOf } from "../../coordinator/alerts/episodes.ts";
import { createDestinations } from "../../coordinator/alerts/factory.ts";
import { testMessage } from "../../coordinator/alerts/message.ts";
import { MemoryOutbox } from "../../coordinator/alerts/outbox.ts";
import type { AuditEvent } from "../../coordinator/store/store.ts";
import { ManualClock } from "../../shared/clock.ts";
import { configFromObject } from "../../shared/config.ts";
import { silentLogger } from "../../shared/log.ts";
import { OpsgenieStandin } from "../../standins/opsgenie.ts";
import { PagerDutyStandin } from "../../standins/pagerduty.ts";
import { configObject } from "../helpers.ts";

const ROUTING_KEY = "R0UT1NGKEY0123456789abcdef012345";
const GENIE_KEY = "genie-key";

function setUp(alerts: Record<string, unknown>[], options: { pdLimit?: number; ogLimit?: number } = {}) {
  const clock = new ManualClock();
  const pd = new PagerDutyStandin({
    routingKeys: [ROUTING_KEY],
    clock,
    ...(options.pdLimit ? { limits: [{ limit: options.pdLimit, windowMs: 60_000 }] } : {}),
  });
  const og = new OpsgenieStandin({
    apiKeys: [GENIE_KEY],
    clock,
    ...(options.ogLimit ? { limits: [{ limit: options.ogLimit, windowMs: 60_000 }] } : {}),
  });
  const fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input));
    const app = url.host === "pd.test" ? pd.app : og.app;
    return app.request(`${url.pathname}${url.search}`, init);
  };
  const config = configFromObject({ ...configObject(), alerts });
  const env: Record<string, string> = { PD_KEY: ROUTING_KEY, OG_KEY: GENIE_KEY };
  const destinations = createDestinations(config, { env: (n) => env[n], world: { fetch, clock } }).flatMap(
    (d) => (d.ok ? [d] : []),
  );
  const outbox = new MemoryOutbox();
  const stored: AuditEvent[] = [];
  const dispatcher = new AlertDispatcher({
    config,
    destinations,
    outbox,
    readEvents: async (afterId) => stored.filter((e) => e.id > afterId),
    clock,
    log: silentLogger,
    random: () => 1,
  });
  let id = 0;
  const emit = (type: string, extra: Partial<AuditEvent> = {}) => {
    const event: AuditEvent = {
      id: ++id,
      at: new Date(clock.now()).toISOString(),
      type,
      service: "web",
      message: `${type} happened`,
      ...extra,
    };
    stored.push(event);
    dispatcher.enqueue([event]);
  };
  const settle = async (ms: number) => {
    await clock.advance(ms);
    await dispatcher.idle();
  };
  return { clock, pd, og, outbox, dispatcher, destinations, config, emit, settle };
}

const pagerduty = (extra: Record<string, unknown> = {}) => ({
  type: "pagerduty",
  routingKeyEnv: "PD_KEY",
  apiBase: "http://pd.test",
  groupWait: "5s",
  ...extra,
});
const opsgenie = (extra: Record<string, unknown> = {}) => ({
  type: "opsgenie",
  apiKeyEnv: "OG_KEY",
  apiBase: "http://og.test",
  groupWait: "5s",
  ...extra,
});

const event = (type: string, extra: Partial<AuditEvent> = {}): AuditEvent => ({
  id: 1,
  at: "2026-01-01T00:00:00.000Z",
  type,
  service: "web",
  message: `${type} happened`,
  ...extra,
});

describe("episodes", () => {
  it.each([
    ["failover", "failback", {}, "healthmesh:example.com:web:failover"],
    ["both-down", "both-down.cleared", {}, "healthmesh:example.com:web:both-down"],
    ["active.down", "active.down.cleared", {}, "healthmesh:example.com:web:active-down"],
    ["dns.error", "dns.recovered", { provider: "desec" }, "healthmesh:example.com:web:dns-error:desec"],
    [
      "dns.lagging",
      "dns.lagging.cleared",
      { provider: "cloudflare" },
      "healthmesh:example.com:web:dns-lagging:cloudflare",
    ],
    ["dns.diverged", "dns.converged", {}, "healthmesh:example.com:web:dns-diverged"],
  ])("%s opens and %s closes the same episode", (opens, closes, extra, id) => {
    const [open] = episodeChangesOf([event(opens, extra)], "example.com");
    const [close] = episodeChangesOf([event(closes, extra)], "example.com");
    expect(open).toMatchObject({ action: "open", id });
    expect(close).toMatchObject({ action: "close", id, severity: open?.severity });
  });

  it("keys probe and control-plane episodes without a service, by probe id", () => {
    const mesh = (type: string, message: string): AuditEvent => {
      const { service: _, ...rest } = event(type);
      return { ...rest, message };
    };
    const open = mesh("probe.silent", 'Probe "fly-iad" (fly) sent nothing for 3 intervals');
    const close = mesh("probe.back", 'Probe "fly-iad" is reporting again');
    expect(episodeChangesOf([open, close], "example.com").map((c) => [c.action, c.id])).toEqual([
      ["open", "healthmesh:example.com:mesh:probe-silent:fly-iad"],
      ["close", "healthmesh:example.com:mesh:probe-silent:fly-iad"],
    ]);
    const { service: _, ...frozen } = event("control-plane.frozen");
    const { service: __, ...resumed } = event("control-plane.resumed");
    expect(episodeChangesOf([frozen, resumed], "z").map((c) => [c.action, c.id])).toEqual([
      ["open", "healthmesh:z:mesh:control-plane-frozen"],
      ["close", "healthmesh:z:mesh:control-plane-frozen"],
    ]);
  });

  it("a pin to the primary closes a failover as a fail-back does", () => {
    const changes = episodeChangesOf([event("failback"), event("pin", { to: "primary" })], "z");
    expect(changes.map((c) => [c.action, c.kind])).toEqual([
      ["close", "failover"],
      ["close", "failover"],
    ]);
    expect(episodeChangesOf([event("pin", { to: "secondary" }), event("pause")], "z")).toEqual([]);
  });
});

describe("pager destinations", () => {
  it("trigger on failover and resolve on the (info) fail-back despite minSeverity critical; chat-only events stay out", async () => {
    const t = setUp([pagerduty({ minSeverity: "critical" }), opsgenie({ minSeverity: "critical" })]);
    t.emit("failover", { from: "primary", to: "secondary" });
    t.emit("dns.switched", { provider: "cloudflare" });
    t.emit("pause", { actor: "alice" });
    await t.settle(5_000);
    const id = "healthmesh:example.com:web:failover";
    expect(t.pd.open(id)).toMatchObject({
      status: "triggered",
      severity: "critical",
      source: "web (example.com)",
    });
    expect(t.og.open(id)).toMatchObject({ priority: "P1", count: 1 });
    expect(t.pd.events).toHaveLength(1);
    // The fail-back comes 30 s later, well within repeatInterval: a pager does not hold it back.
    await t.settle(30_000);
    t.emit("failback", { from: "secondary", to: "primary" });
    await t.settle(5_000);
    expect(t.pd.incidents.map((i) => i.status)).toEqual(["resolved"]);
    expect(t.og.alerts.map((a) => a.status)).toEqual(["closed"]);
    expect(t.pd.events.map((e) => e.event_action)).toEqual(["trigger", "resolve"]);
  });

  it("drops an event PagerDuty calls invalid (400) at once, naming PagerDuty's reason", async () => {
    const t = setUp([pagerduty()]);
    // Swap the key the sender holds for one of the wrong length.
    const sender = t.destinations[0]?.sender as unknown as { target: { routingKey: string } }; // test-only reach-in
    sender.target.routingKey = "short";
    t.emit("failover");
    await t.settle(5_000);
    const [entry] = await t.outbox.list();
    expect(entry).toMatchObject({ state: "failed", attempts: 1 });
    expect(entry?.lastError).toBe(
      "Cannot deliver to \"pagerduty\": HTTP 400: Event object is invalid: Length of 'routing_key' is incorrect (should be 32 characters)",
    );
  });

  it("retries a PagerDuty 429 with backoff, and an Opsgenie 429 after its X-RateLimit-Period-In-Sec", async () => {
    const t = setUp([pagerduty(), opsgenie()], { pdLimit: 1, ogLimit: 1 });
    t.emit("failover");
    await t.settle(5_000);
    t.emit("failback");
    await t.settle(5_000);
    const pending = await t.outbox.list();
    const og = pending.find((e) => e.destination === "opsgenie" && e.state === "pending");
    const pd = pending.find((e) => e.destination === "pagerduty" && e.state === "pending");
    expect(og?.lastError).toContain("rate limited: You are making too many requests");
    expect((og?.nextAt ?? 0) - t.clock.now()).toBe(60_000);
    expect(pd?.lastError).toContain("rate limited: Requests for this service are arriving too quickly");
    expect((pd?.nextAt ?? 0) - t.clock.now()).toBe(2_000);
    // PagerDuty's window frees 60 s after the trigger; backoff 2+4+8+16+32 s reaches past it.
    await t.settle(70_000);
    expect(t.pd.events.map((e) => e.event_action)).toEqual(["trigger", "resolve"]);
    expect(t.pd.incidents.map((i) => i.status)).toEqual(["resolved"]);
    expect(t.og.alerts.map((a) => a.status)).toEqual(["closed"]);
  });

  it("`alert test` opens and closes a low-priority test incident", async () => {
    const t = setUp([pagerduty(), opsgenie()]);
    for (const d of t.destinations)
      await d.sender.send(testMessage(t.config, t.clock.now()), { id: "x", attempt: 1 });
    expect(t.pd.incidents.map((i) => [i.dedupKey, i.severity, i.status])).toEqual([
      ["healthmesh:test", "info", "resolved"],
    ]);
    expect(t.og.alerts.map((a) => [a.alias, a.priority, a.status])).toEqual([
      ["healthmesh:test", "P5", "closed"],
    ]);
  });
});
