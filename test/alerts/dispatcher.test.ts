import { describe, expect, it } from "vitest";
import { AlertDispatcher } from "../../coordinator/alerts/dispatcher.ts";
import { createDestinations } from "../../coordinator/alerts/factory.ts";
import { MemoryOutbox } from "../../coordinator/alerts/outbox.ts";
import type { AuditEvent } from "../../coordinator/store/store.ts";
import { ManualClock } from "../../shared/clock.ts";
import { configFromObject } from "../../shared/config.ts";
import { silentLogger } from "../../shared/log.ts";
import { configObject } from "../helpers.ts";
import { recordingFetch } from "./receivers.ts";

function setUp(alerts: Record<string, unknown>[], answer?: (n: number) => Response) {
  const clock = new ManualClock();
  const http = recordingFetch(answer);
  const config = configFromObject({ ...configObject(), alerts });
  const env: Record<string, string> = { HOOK: "http://hook.test/x" };
  const destinations = createDestinations(config, {
    env: (n) => env[n],
    world: { fetch: http.fetch, clock },
  }).flatMap((d) => (d.ok ? [d] : []));
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
  /** Stores and enqueues one event, of service "web" unless `service` is null (a mesh-wide event). */
  const emit = (type: string, extra: Partial<AuditEvent> = {}, service: string | null = "web") => {
    const event: AuditEvent = {
      id: ++id,
      at: new Date(clock.now()).toISOString(),
      type,
      ...(service === null ? {} : { service }),
      message: `${type} happened`,
      ...extra,
    };
    stored.push(event);
    dispatcher.enqueue([event]);
  };
  const sentTo = (url: string) =>
    http.calls
      .filter((c) => c.url === url)
      .map((c) => JSON.parse(c.body) as { type: string; data: { lines: { type: string }[] } });
  return { clock, http, outbox, dispatcher, emit, sentTo };
}

const hook = (extra: Record<string, unknown> = {}) => ({ type: "webhook", urlEnv: "HOOK", ...extra });

describe("AlertDispatcher", () => {
  it("groups a failover and its DNS writes into one message after groupWait", async () => {
    const t = setUp([hook({ groupWait: "10s" })]);
    t.emit("failover", { from: "primary", to: "secondary" });
    await t.clock.advance(800);
    t.emit("dns.switched", { provider: "cloudflare" });
    t.emit("dns.switched", { provider: "desec" });
    await t.clock.advance(9000);
    expect(t.http.calls).toHaveLength(0);
    await t.clock.advance(300);
    await t.dispatcher.idle();
    const sent = t.sentTo("http://hook.test/x");
    expect(sent).toHaveLength(1);
    expect(sent[0]?.type).toBe("healthmesh.failover");
    expect(sent[0]?.data.lines.map((l) => l.type)).toEqual(["failover", "dns.switched", "dns.switched"]);
  });

  it("routes by event type and minimum severity", async () => {
    const t = setUp([
      hook({ name: "only-failover", events: ["failover"], groupWait: 0 }),
      hook({ name: "critical", minSeverity: "critical", groupWait: 0 }),
      hook({ name: "everything", groupWait: 0 }),
    ]);
    t.emit("pause", { actor: "ops" });
    t.emit("failover");
    t.emit("dns.switched");
    t.emit("coordinator.started", { message: "Coordinator started with 1 service(s)" });
    t.emit(
      "coordinator.started",
      { message: "Coordinator started with unfinished DNS work on 1 router(s); resuming it" },
      null,
    );
    await t.clock.advance(1);
    await t.dispatcher.idle();
    const byName = async (name: string) =>
      (await t.outbox.list(name)).flatMap((e) => e.message.lines.map((l) => l.type));
    expect(await byName("only-failover")).toEqual(["failover"]);
    expect(await byName("critical")).toEqual(["failover"]);
    // A routine start never alerts; a start with unfinished work does (severityOf).
    expect(await byName("everything")).toEqual(["pause", "failover", "dns.switched", "coordinator.started"]);
  });

  it("retries a rate-limited delivery no sooner than the platform's Retry-After", async () => {
    const t = setUp([{ type: "slack", urlEnv: "HOOK", groupWait: 0 }], (n) =>
      n === 1
        ? new Response("rate_limited", { status: 429, headers: { "retry-after": "30" } })
        : new Response("ok"),
    );
    t.emit("failover");
    await t.clock.advance(1);
    await t.dispatcher.idle();
    expect(t.http.calls).toHaveLength(1);
    await t.clock.advance(29_000);
    await t.dispatcher.idle();
    expect(t.http.calls).toHaveLength(1);
    await t.clock.advance(1000);
    await t.dispatcher.idle();
    expect(t.http.calls).toHaveLength(2);
    expect((await t.outbox.list())[0]).toMatchObject({ state: "sent", attempts: 2 });
  });

  it("backs off exponentially on 5xx and marks a 4xx refusal failed without retrying", async () => {
    // Backoff counts from when a failure is recorded. The first failure is recorded at 0 or 1 ms
    // here, depending on how many microtask turns the runtime takes to settle the fake response
    // against advance(1) (Node 20 and Node 24 differ), so the first gap is 2000 or 2001 ms.
    const at: number[] = [];
    const t = setUp([hook({ groupWait: 0 })], (n) => {
      at.push(t.clock.now());
      return new Response("no", { status: n <= 2 ? 503 : 400 });
    });
    t.emit("failover");
    await t.clock.advance(1);
    await t.dispatcher.idle();
    expect(at).toHaveLength(1);
    await t.clock.advance(600_000);
    await t.dispatcher.idle();
    // first backoff 2 s, second 4 s (random = 1), then the 400 ends it: no fourth attempt
    const gaps = at.slice(1).map((time, i) => time - (at[i] ?? 0));
    expect(gaps).toHaveLength(2);
    expect(gaps[0]).toBeGreaterThanOrEqual(2000);
    expect(gaps[0]).toBeLessThanOrEqual(2001);
    expect(gaps[1]).toBe(4000);
    expect((await t.outbox.list())[0]).toMatchObject({ state: "failed", attempts: 3 });
  });

  it("paces a destination by its rate limit without dropping messages", async () => {
    const t = setUp([hook({ groupWait: 0, rateLimit: { messages: 2, per: "1m" } })]);
    for (const service of ["a", "b", "c", "d"]) t.emit("failover", { service });
    await t.clock.advance(1);
    await t.dispatcher.idle();
    expect(t.http.calls).toHaveLength(2);
    await t.clock.advance(59_000);
    await t.dispatcher.idle();
    expect(t.http.calls).toHaveLength(2);
    await t.clock.advance(1000);
    await t.dispatcher.idle();
    expect(t.http.calls).toHaveLength(4);
  });

  it("sends a group's next events together, no sooner than repeatInterval after its last message", async () => {
    const t = setUp([hook({ groupWait: "10s", repeatInterval: "5m" })]);
    t.emit("failover");
    await t.clock.advance(10_000);
    await t.dispatcher.idle();
    for (let i = 0; i < 20; i++) {
      t.emit(i % 2 === 0 ? "flap.held" : "failback");
      await t.clock.advance(10_000);
      await t.dispatcher.idle();
    }
    expect(t.http.calls).toHaveLength(1);
    await t.clock.advance(100_000);
    await t.dispatcher.idle();
    const sent = t.sentTo("http://hook.test/x");
    expect(sent).toHaveLength(2);
    expect(sent[1]?.data.lines).toHaveLength(20);
  });
});
