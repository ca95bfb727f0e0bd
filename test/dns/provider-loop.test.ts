import { describe, expect, it } from "vitest";
import { ServerError } from "../../coordinator/dns/errors.ts";
import { MemoryDnsProvider } from "../../coordinator/dns/memory.ts";
import type { RouterChange } from "../../coordinator/dns/provider.ts";
import { type DesiredTarget, Reconciler } from "../../coordinator/dns/reconciler.ts";
import type { NewEvent, ProviderRouterRow } from "../../coordinator/store/store.ts";
import { ManualClock } from "../../shared/clock.ts";
import { silentLogger } from "../../shared/log.ts";

const ROUTER = "web-router.example.com";

/** A memory provider whose writes can be refused or held until the test releases them. */
class TestProvider extends MemoryDnsProvider {
  refuse: string | null = null;
  hold = false;
  #release: (() => void)[] = [];

  override async writeRouters(changes: readonly RouterChange[]): Promise<void> {
    if (this.refuse) {
      this.calls.write++;
      throw new ServerError(this.name, this.refuse, { status: 503 });
    }
    if (this.hold) await new Promise<void>((resolve) => this.#release.push(resolve));
    return super.writeRouters(changes);
  }

  /** Lets every held write go on. */
  release(): void {
    for (const go of this.#release.splice(0)) go();
  }

  get held(): number {
    return this.#release.length;
  }
}

function setup(initial?: ProviderRouterRow[]) {
  const clock = new ManualClock();
  const provider = new TestProvider("memory");
  const events: NewEvent[] = [];
  const persisted: ProviderRouterRow[] = [];
  const reconciler = new Reconciler([provider], {
    clock,
    log: silentLogger,
    timing: () => ({ timeoutMs: 10_000, maxBackoffMs: 60_000 }),
    persist: async (change) => {
      events.push(...change.events);
      persisted.push(...change.providerStates);
    },
    random: () => 0.5,
    ...(initial ? { initial } : {}),
  });
  const desired = (target: string, ttl = 60): DesiredTarget[] => [
    { service: "web", router: ROUTER, target, ttl: { memory: ttl } },
  ];
  const row = () => reconciler.states()[0];
  const count = (type: string) => events.filter((e) => e.type === type).length;
  const advance = async (ms: number) => {
    for (let left = ms; left > 0; left -= 1000) {
      await clock.advance(Math.min(1000, left));
      await reconciler.idle();
    }
  };
  return { clock, provider, events, persisted, reconciler, desired, row, count, advance };
}

describe("ProviderLoop failure episodes", () => {
  it("raises one dns.error for a provider that refuses every write for 300 s, not one per retry", async () => {
    const t = setup();
    t.provider.refuse = "write 503";
    t.reconciler.setDesired(t.desired("a.example.net."));
    await t.advance(300_000);
    expect(t.provider.calls.write).toBeGreaterThan(5);
    expect(t.count("dns.error")).toBe(1);
    t.reconciler.stop();
  });

  it("ends the episode when the router is in sync again: no error on recovery, one new dns.error on the next failure", async () => {
    const t = setup();
    t.provider.refuse = "write 503";
    t.reconciler.setDesired(t.desired("a.example.net."));
    await t.advance(30_000);
    t.provider.refuse = "write 500";
    await t.advance(60_000);
    expect(t.events.filter((e) => e.type === "dns.error").map((e) => e.message)).toEqual([
      expect.stringContaining("write 503"),
      expect.stringContaining("write 500"),
    ]);
    t.provider.refuse = null;
    await t.advance(120_000);
    expect(t.row()).toMatchObject({ state: "in-sync", target: "a.example.net." });
    expect(t.row()?.error).toBeUndefined();
    expect(t.count("dns.error")).toBe(2);
    t.provider.refuse = "write 503";
    t.reconciler.setDesired(t.desired("b.example.net."));
    await t.advance(120_000);
    expect(t.count("dns.error")).toBe(3);
    t.reconciler.stop();
  });

  it("keeps the last failure's text in the row while a retry is in flight", async () => {
    const t = setup();
    t.provider.refuse = "write 503";
    t.reconciler.setDesired(t.desired("a.example.net."));
    await t.reconciler.idle();
    expect(t.row()).toMatchObject({ state: "error", error: expect.stringContaining("write 503") });
    t.provider.refuse = null;
    t.provider.hold = true;
    await t.clock.advance(5_000); // not t.advance(): idle() would wait on the held write
    expect(t.provider.held).toBe(1);
    expect(t.row()?.state).toBe("pending");
    expect(t.row()?.error).toContain("write 503");
    t.provider.hold = false;
    t.provider.release();
    await t.reconciler.idle();
    expect(t.row()).toMatchObject({ state: "in-sync", target: "a.example.net." });
    expect(t.row()?.error).toBeUndefined();
    t.reconciler.stop();
  });
});

describe("ProviderLoop with a decision during a round", () => {
  it("does not mark the router in sync with the old target when a new decision arrives while the write is held", async () => {
    const t = setup();
    t.provider.hold = true;
    t.reconciler.setDesired(t.desired("a.example.net."));
    await t.clock.advance(0);
    expect(t.provider.held).toBe(1);
    t.reconciler.setDesired(t.desired("b.example.net."));
    t.persisted.length = 0;
    t.provider.release();
    await t.clock.advance(0);
    // The round that wrote a.example.net. has ended; the follow-up for b.example.net. is held now.
    expect(t.provider.held).toBe(1);
    expect(t.provider.records.get(ROUTER)?.target).toBe("a.example.net.");
    expect(t.row()).toMatchObject({ state: "pending", target: "a.example.net." });
    expect(t.persisted.filter((r) => r.state === "in-sync")).toEqual([]);
    t.provider.hold = false;
    t.provider.release();
    await t.reconciler.idle();
    expect(t.row()).toMatchObject({ state: "in-sync", target: "b.example.net." });
    expect(t.persisted.at(-1)).toMatchObject({ state: "in-sync", target: "b.example.net." });
    t.reconciler.stop();
  });
});

describe("Reconciler.updateDesired (a decision's switches)", () => {
  it("moves only the routers that changed; a round in flight keeps the targets it started with", async () => {
    const t = setup();
    const other = "api-router.example.com";
    t.reconciler.setDesired([
      ...t.desired("a.example.net."),
      { service: "api", router: other, target: "x.example.net.", ttl: { memory: 60 } },
    ]);
    await t.reconciler.idle();
    t.provider.hold = true;
    t.reconciler.updateDesired(t.desired("b.example.net."));
    await t.clock.advance(0);
    expect(t.provider.held).toBe(1);
    // A second decision while the first write is held: the held round still writes b, then c follows.
    t.reconciler.updateDesired(t.desired("c.example.net."));
    expect(t.reconciler.desired().map((d) => [d.router, d.target])).toEqual([
      [ROUTER, "c.example.net."],
      [other, "x.example.net."],
    ]);
    t.provider.hold = false;
    t.provider.release();
    await t.reconciler.idle();
    expect(t.provider.records.get(ROUTER)?.target).toBe("c.example.net.");
    expect(t.provider.records.get(other)?.target).toBe("x.example.net.");
    expect(t.reconciler.states().map((r) => [r.router, r.state, r.target])).toEqual([
      [ROUTER, "in-sync", "c.example.net."],
      [other, "in-sync", "x.example.net."],
    ]);
    t.reconciler.stop();
  });
});

describe("ProviderLoop drift checks", () => {
  const stored = (target: string): ProviderRouterRow => ({
    provider: "memory",
    router: ROUTER,
    state: "in-sync",
    target,
    updatedAt: 0,
  });

  it("rewrites a TTL-only difference after a restart quietly, with no dns.drift", async () => {
    const t = setup([stored("a.example.net.")]);
    t.provider.records.set(ROUTER, { name: ROUTER, type: "CNAME", target: "a.example.net.", ttl: 300 });
    t.reconciler.setDesired(t.desired("a.example.net.", 60));
    await t.reconciler.idle();
    expect(t.provider.records.get(ROUTER)?.ttl).toBe(60);
    expect(t.row()).toMatchObject({ state: "in-sync", target: "a.example.net." });
    expect(t.count("dns.drift")).toBe(0);
    expect(t.count("dns.switched")).toBe(1);
    t.reconciler.stop();
  });

  it("reports dns.drift when the confirmed target was changed by hand or the record vanished", async () => {
    const t = setup();
    t.reconciler.setDesired(t.desired("a.example.net."));
    await t.reconciler.idle();
    t.provider.records.set(ROUTER, { name: ROUTER, type: "CNAME", target: "x.example.net.", ttl: 60 });
    await t.advance(60_000);
    expect(t.count("dns.drift")).toBe(1);
    t.provider.records.delete(ROUTER);
    await t.advance(60_000);
    expect(t.count("dns.drift")).toBe(2);
    expect(t.provider.records.get(ROUTER)?.target).toBe("a.example.net.");
    t.reconciler.stop();
  });
});
