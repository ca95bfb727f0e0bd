/**
 * Alert ids stable per decision: a decision's events carry the etcd decision number, and every
 * member turns them into the same id (webhook-id and body, Matrix txnId via the delivery id,
 * PagerDuty details, Alertmanager annotation), so a receiver drops the copy another member sends.
 */
import { describe, expect, it } from "vitest";
import { AlertDispatcher } from "../../coordinator/alerts/dispatcher.ts";
import { createDestinations } from "../../coordinator/alerts/factory.ts";
import { formatMessage } from "../../coordinator/alerts/message.ts";
import { MemoryOutbox } from "../../coordinator/alerts/outbox.ts";
import type { ServiceState } from "../../coordinator/engine.ts";
import { MemoryEtcd } from "../../coordinator/ha/etcd-memory.ts";
import { HaStore } from "../../coordinator/ha/ha-store.ts";
import { Leadership } from "../../coordinator/ha/leadership.ts";
import { EtcdLedger } from "../../coordinator/ha/ledger.ts";
import { MemoryStore } from "../../coordinator/store/memory.ts";
import type { AuditEvent } from "../../coordinator/store/store.ts";
import { ManualClock } from "../../shared/clock.ts";
import { configFromObject } from "../../shared/config.ts";
import { silentLogger } from "../../shared/log.ts";
import { configObject } from "../helpers.ts";

const web = (patch: Partial<ServiceState> = {}): ServiceState => ({
  name: "web",
  active: "primary",
  mode: "auto",
  lastSwitchAt: null,
  bothDown: false,
  held: false,
  primaryUpSince: null,
  activeDown: false,
  ...patch,
});

/** A leader's HaStore over the in-memory etcd. */
async function leaderStore() {
  const clock = new ManualClock();
  const etcd = new MemoryEtcd(clock);
  const leadership = new Leadership({
    etcd,
    prefix: "/hm/",
    id: "a",
    url: "http://a",
    ttlMs: 2000,
    clock,
    log: silentLogger,
  });
  await leadership.tick();
  const ledger = new EtcdLedger(etcd, { prefix: "/hm/", self: "a" });
  const local = new MemoryStore();
  const store = new HaStore({
    local,
    ledger,
    fence: () => leadership.current(),
    targetOf: (_s, active) => (active === "primary" ? "p.example.net." : "s.example.net."),
    now: () => clock.now(),
  });
  await store.snapshot();
  return { store, ledger, clock };
}

/** A webhook destination whose requests (headers and body) are kept. */
function webhookMember() {
  const clock = new ManualClock();
  const seen: { headers: Headers; body: { data: { decision?: { id: string } } } }[] = [];
  const fetch: typeof globalThis.fetch = async (_input, init) => {
    seen.push({ headers: new Headers(init?.headers), body: JSON.parse(String(init?.body)) });
    return new Response("ok");
  };
  const config = configFromObject({
    ...configObject(),
    alerts: [{ type: "webhook", urlEnv: "HOOK", groupWait: "1s" }],
  });
  const destinations = createDestinations(config, {
    env: () => "http://hook.test/x",
    world: { fetch, clock },
  }).flatMap((d) => (d.ok ? [d] : []));
  const dispatcher = new AlertDispatcher({
    config,
    destinations,
    outbox: new MemoryOutbox(),
    readEvents: async () => [],
    clock,
    log: silentLogger,
    random: () => 1,
  });
  return { clock, dispatcher, seen, config };
}

describe("alert ids stable per decision", () => {
  it("a leader's decision events carry the ledger's decision number; other events do not", async () => {
    const { store, ledger } = await leaderStore();
    const stored = await store.commit({
      services: [web({ active: "secondary", lastSwitchAt: 5 })],
      events: [
        { at: 5, type: "failover", service: "web", from: "primary", to: "secondary", message: "m" },
        { at: 5, type: "probe.silent", message: 'Probe "p" is silent' },
      ],
    });
    const decision = ledger.entries().get("web")?.decision;
    expect(decision).toBeGreaterThan(0);
    expect(stored.map((e) => e.decision)).toEqual([decision, undefined]);
    // A commit without a ledger change (a DNS event) has no decision number.
    const dns = await store.commit({
      events: [{ at: 6, type: "dns.switched", service: "web", message: "d" }],
    });
    expect(dns[0]?.decision).toBeUndefined();
  });

  it("two members send the same decision under the same id, whatever their local event ids and groups", async () => {
    const decision = 4711;
    const failover = (id: number): AuditEvent => ({
      id,
      at: "2026-01-01T00:00:00.000Z",
      type: "failover",
      service: "web",
      from: "primary",
      to: "secondary",
      message: "Failed over",
      decision,
    });
    const a = webhookMember();
    const b = webhookMember();
    a.dispatcher.enqueue([failover(17)]);
    // The other member's copy sits in another group, with its own DNS event first and another id.
    b.dispatcher.enqueue([
      { id: 3, at: "2026-01-01T00:00:00.000Z", type: "dns.switched", service: "web", message: "d" },
      failover(4),
    ]);
    for (const m of [a, b]) {
      await m.clock.advance(1100);
      await m.dispatcher.idle();
    }
    const id = `healthmesh.example.com.web.d${decision}.failover`;
    for (const m of [a, b]) {
      expect(m.seen).toHaveLength(1);
      expect(m.seen[0]?.headers.get("webhook-id")).toBe(id);
      expect(m.seen[0]?.body.data.decision?.id).toBe(id);
    }
    expect(formatMessage("web", [failover(99)], a.config).decision).toEqual({
      id,
      number: decision,
      type: "failover",
    });
  });

  it("a new leader does not resend: the member that decided sends its decision after a restart, under the same id", async () => {
    const clock = new ManualClock();
    const outbox = new MemoryOutbox();
    const stored: AuditEvent[] = [
      { id: 8, at: "2026-01-01T00:00:00.000Z", type: "failover", service: "web", message: "m", decision: 12 },
    ];
    const seen: string[] = [];
    const fetch: typeof globalThis.fetch = async (_input, init) => {
      seen.push(new Headers(init?.headers).get("webhook-id") ?? "");
      return new Response("ok");
    };
    const config = configFromObject({
      ...configObject(),
      alerts: [{ type: "webhook", urlEnv: "HOOK", groupWait: "1s" }],
    });
    const dispatcher = () =>
      new AlertDispatcher({
        config,
        destinations: createDestinations(config, {
          env: () => "http://hook.test/x",
          world: { fetch, clock },
        }).flatMap((d) => (d.ok ? [d] : [])),
        outbox,
        readEvents: async (after) => stored.filter((e) => e.id > after),
        clock,
        log: silentLogger,
        random: () => 1,
      });
    await outbox.initCursor("webhook", 7);
    // The leader recorded its failover and was killed within groupWait: nothing left.
    const before = dispatcher();
    await before.start();
    before.stop();
    expect(seen).toEqual([]);
    // Back as a follower, it replays its own log from the outbox cursor and sends the decision.
    const after = dispatcher();
    await after.start();
    await clock.advance(1100);
    await after.idle();
    expect(seen).toEqual(["healthmesh.example.com.web.d12.failover"]);
  });

  it("a message without a decision keeps a fresh random id per message", async () => {
    const m = webhookMember();
    m.dispatcher.enqueue([
      { id: 1, at: "2026-01-01T00:00:00.000Z", type: "dns.error", service: "web", message: "x" },
    ]);
    await m.clock.advance(1100);
    m.dispatcher.enqueue([
      { id: 2, at: "2026-01-01T00:00:02.000Z", type: "dns.error", service: "web", message: "y" },
    ]);
    await m.clock.advance(400_000);
    await m.dispatcher.idle();
    const ids = m.seen.map((s) => s.headers.get("webhook-id"));
    expect(ids).toHaveLength(2);
    expect(ids[0]).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(ids[0]).not.toBe(ids[1]);
  });
});
