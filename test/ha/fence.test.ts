/** The DNS fence (fenced fetch) and the ledger store, on a fake clock over the in-memory etcd. */
import { describe, expect, it } from "vitest";
import type { ServiceState } from "../../coordinator/engine.ts";
import { FENCE_HEADER, FencedOutError, fencedFetch } from "../../coordinator/ha/dns-fence.ts";
import { MemoryEtcd } from "../../coordinator/ha/etcd-memory.ts";
import { HaStore } from "../../coordinator/ha/ha-store.ts";
import { type Fence, Leadership } from "../../coordinator/ha/leadership.ts";
import { EtcdLedger } from "../../coordinator/ha/ledger.ts";
import { MemoryStore } from "../../coordinator/store/memory.ts";
import { StaleStateError } from "../../coordinator/store/store.ts";
import { ManualClock } from "../../shared/clock.ts";
import { silentLogger } from "../../shared/log.ts";

function setup() {
  const clock = new ManualClock();
  const etcd = new MemoryEtcd(clock);
  const member = (id: string) =>
    new Leadership({
      etcd,
      prefix: "/hm/",
      id,
      url: `http://${id}`,
      ttlMs: 2000,
      marginMs: 500,
      clock,
      log: silentLogger,
    });
  return { clock, etcd, member };
}

function recorder() {
  const seen: { url: string; method: string; fence: string | null; signal: AbortSignal | null }[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    seen.push({
      url: String(input),
      method: init?.method ?? "GET",
      fence: new Headers(init?.headers).get(FENCE_HEADER),
      signal: init?.signal ?? null,
    });
    return new Response("{}");
  };
  return { seen, fetch };
}

describe("fencedFetch()", () => {
  it("sends nothing, not even a read, while this member does not lead", async () => {
    const { member } = setup();
    const a = member("a");
    const b = member("b");
    await a.tick();
    await b.tick();
    const { seen, fetch } = recorder();
    const fenced = fencedFetch(fetch, b, () => 7);
    await expect(fenced("http://dns/zones")).rejects.toBeInstanceOf(FencedOutError);
    await expect(fenced("http://dns/batch", { method: "POST" })).rejects.toBeInstanceOf(FencedOutError);
    expect(seen).toEqual([]);
  });

  it("stamps REVISION/DECISION on every request of the leader and binds it to the term's signal", async () => {
    const { member } = setup();
    const a = member("a");
    await a.tick();
    const { seen, fetch } = recorder();
    await fencedFetch(fetch, a, () => 7)("http://dns/batch", { method: "POST" });
    expect(seen[0]?.fence).toBe(`${a.current()?.revision}/7`);
    expect(seen[0]?.signal?.aborted).toBe(false);
  });

  it("re-checks the leader key before a write: a key lost behind a good keepalive stops the write", async () => {
    const { member, etcd } = setup();
    const a = member("a");
    await a.tick();
    await etcd.txn({ compare: [], success: [{ delete: { key: "/hm/leader" } }] });
    const { seen, fetch } = recorder();
    await expect(
      fencedFetch(fetch, a, () => 1)("http://dns/batch", { method: "PATCH" }),
    ).rejects.toBeInstanceOf(FencedOutError);
    expect(seen).toEqual([]);
  });

  it("aborts a write in flight at the leader's deadline, not merely abandons it", async () => {
    const { member, etcd, clock } = setup();
    const a = member("a");
    await a.tick();
    const deadline = a.current()?.deadline ?? 0;
    let aborted: number | null = null;
    const hanging: typeof fetch = (_input, init) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener("abort", () => {
          aborted = clock.now();
          reject(new DOMException("aborted", "AbortError"));
        });
      });
    const write = fencedFetch(
      hanging,
      a,
      () => 1,
    )("http://dns/batch", { method: "POST" }).catch((e: unknown) => e);
    await clock.advance(0);
    etcd.reachable = false; // keepalives fail from now on
    a.start();
    await clock.advance(1600);
    expect(aborted).toBe(deadline);
    expect(await write).toBeInstanceOf(DOMException);
    await a.stop().catch(() => undefined);
  });

  it("refuses the answer of a write that came back after leadership ended", async () => {
    const { member, etcd, clock } = setup();
    const a = member("a");
    await a.tick();
    const slow: typeof fetch = async () => {
      await clock.advance(1600); // the provider answers after the deadline (and the signal was ignored)
      return new Response("{}");
    };
    void etcd;
    await expect(
      fencedFetch(slow, a, () => 1)("http://dns/batch", { method: "POST" }),
    ).rejects.toBeInstanceOf(FencedOutError);
  });
});

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

function store(setupResult: ReturnType<typeof setup>, fence: () => Fence | null, self: string) {
  const ledger = new EtcdLedger(setupResult.etcd, { prefix: "/hm/", self });
  const local = new MemoryStore();
  const targets = { primary: "p.example.net.", secondary: "s.example.net." };
  const ha = new HaStore({
    local,
    ledger,
    fence,
    targetOf: (_s, active) => targets[active],
    now: () => setupResult.clock.now(),
  });
  return { ha, local, ledger };
}

describe("HaStore", () => {
  it("records the leader's decision in etcd and serves it to a member that starts later", async () => {
    const world = setup();
    const a = world.member("a");
    await a.tick();
    const { ha } = store(world, () => a.current(), "a");
    await ha.snapshot();
    await ha.commit({
      services: [web({ active: "secondary", lastSwitchAt: 5 })],
      events: [{ at: 5, type: "failover", message: "m" }],
    });
    const later = store(world, () => null, "b");
    const snapshot = await later.ha.snapshot();
    expect(snapshot.services).toEqual([web({ active: "secondary", lastSwitchAt: 5 })]);
    expect(later.ledger.entries().get("web")).toMatchObject({ target: "s.example.net.", by: "a" });
  });

  it("refuses a follower's decision and writes nothing anywhere", async () => {
    const world = setup();
    const a = world.member("a");
    await a.tick();
    await store(world, () => a.current(), "a").ha.commit({ services: [web()] });
    const { ha, local } = store(world, () => null, "b");
    await ha.snapshot();
    const commit = ha.commit({
      services: [web({ active: "secondary" })],
      events: [{ at: 1, type: "failover", message: "m" }],
    });
    await expect(commit).rejects.toBeInstanceOf(StaleStateError);
    expect(await local.listEvents({})).toEqual([]);
  });

  it("refuses a deposed leader's decision: etcd compares the leader key's revision", async () => {
    const world = setup();
    const a = world.member("a");
    await a.tick();
    const old = a.current();
    await a.stop();
    const b = world.member("b");
    await b.tick();
    const { ha } = store(world, () => old, "a");
    await ha.snapshot();
    await expect(ha.commit({ services: [web({ active: "secondary" })] })).rejects.toThrow(/no longer leads/);
  });

  it("applies an operator's pin from a follower over a change the leader made meanwhile", async () => {
    const world = setup();
    const a = world.member("a");
    await a.tick();
    const leader = store(world, () => a.current(), "a");
    await leader.ha.commit({ services: [web()] });
    const follower = store(world, () => null, "b");
    await follower.ha.snapshot();
    await leader.ha.commit({ services: [web({ bothDown: true })] }); // the follower has not seen this
    await follower.ha.commit({
      services: [web({ active: "secondary", mode: "pinned", lastSwitchAt: 9 })],
      events: [{ at: 9, type: "pin", message: "pinned" }],
    });
    const entry = (await leader.ledger.load()).get("web");
    expect(entry?.state).toEqual(
      web({ active: "secondary", mode: "pinned", lastSwitchAt: 9, bothDown: true }),
    );
    expect(entry?.target).toBe("s.example.net.");
  });

  it("never lets a decision computed from a state the leader has not adopted overwrite a newer change", async () => {
    const world = setup();
    const a = world.member("a");
    await a.tick();
    const leader = store(world, () => a.current(), "a");
    await leader.ha.snapshot();
    await leader.ha.commit({ services: [web({ mode: "pinned", active: "secondary" })] });
    const follower = store(world, () => null, "b");
    await follower.ha.snapshot();
    await follower.ha.commit({
      services: [web({ active: "secondary" })],
      events: [{ at: 1, type: "resume", message: "r" }],
    });
    // The leader, still believing "pinned", records a suppressed switch: refused, and the refusal reloads the ledger.
    const stale = web({ mode: "pinned", active: "secondary", held: true });
    await expect(leader.ha.commit({ services: [stale] })).rejects.toBeInstanceOf(StaleStateError);
    // Its state is unchanged until the sync adopts the resume: the same decision must still be refused.
    await expect(leader.ha.commit({ services: [stale] })).rejects.toBeInstanceOf(StaleStateError);
    expect((await leader.ledger.load()).get("web")?.state.mode).toBe("auto");
    leader.ledger.adopted(leader.ledger.newer());
    await leader.ha.commit({ services: [web({ active: "primary", lastSwitchAt: 2 })] });
    expect((await leader.ledger.load()).get("web")?.state).toEqual(
      web({ active: "primary", lastSwitchAt: 2 }),
    );
  });

  it("fails the commit when etcd cannot be reached: no failsafe", async () => {
    const world = setup();
    const a = world.member("a");
    await a.tick();
    const { ha } = store(world, () => a.current(), "a");
    await ha.snapshot();
    world.etcd.reachable = false;
    const decision = ha.commit({ services: [web({ active: "secondary" })] });
    await expect(decision).rejects.toBeInstanceOf(StaleStateError); // the round drops it; the report is still accepted
    await expect(decision).rejects.toThrow("Cannot record the change in etcd");
    const pin = ha.commit({
      services: [web({ mode: "pinned" })],
      events: [{ at: 1, type: "pin", message: "p" }],
    });
    await expect(pin).rejects.toMatchObject({ status: 503, code: "unavailable" });
  });
});
