/** Leadership on a fake clock over the in-memory etcd: deadlines, step-down, never two leaders. */
import { describe, expect, it } from "vitest";
import { type Etcd, EtcdError } from "../../coordinator/ha/etcd.ts";
import { MemoryEtcd } from "../../coordinator/ha/etcd-memory.ts";
import { Leadership } from "../../coordinator/ha/leadership.ts";
import { ManualClock } from "../../shared/clock.ts";
import { silentLogger } from "../../shared/log.ts";

const TTL = 2000;
const MARGIN = 500;

/** A view of `etcd` that can be cut off from one member (a partition of that member alone). */
function link(etcd: Etcd): { etcd: Etcd; cut: boolean } {
  const state = { cut: false, etcd: etcd };
  const guard = <T>(call: () => Promise<T>): Promise<T> =>
    state.cut ? Promise.reject(new EtcdError("Cannot reach etcd: partitioned", { retryable: true })) : call();
  state.etcd = {
    range: (k, o) => guard(() => etcd.range(k, o)),
    put: (k, v, o) => guard(() => etcd.put(k, v, o)),
    txn: (t, o) => guard(() => etcd.txn(t, o)),
    leaseGrant: (t, o) => guard(() => etcd.leaseGrant(t, o)),
    leaseKeepAlive: (i, o) => guard(() => etcd.leaseKeepAlive(i, o)),
    leaseRevoke: (i, o) => guard(() => etcd.leaseRevoke(i, o)),
  };
  return state;
}

function member(id: string, etcd: Etcd, clock: ManualClock): Leadership {
  return new Leadership({
    etcd,
    prefix: "/hm/",
    id,
    url: `http://${id}`,
    ttlMs: TTL,
    marginMs: MARGIN,
    clock,
    log: silentLogger,
  });
}

describe("Leadership", () => {
  it("the first member to campaign leads; its fence is the leader key's create revision", async () => {
    const clock = new ManualClock();
    const etcd = new MemoryEtcd(clock);
    const a = member("a", etcd, clock);
    const b = member("b", etcd, clock);
    await a.tick();
    await b.tick();
    const key = (await etcd.range("/hm/leader")).kvs[0];
    expect(a.current()?.revision).toBe(key?.createRevision);
    expect(b.current()).toBeNull();
    expect(b.view().leader).toMatchObject({ id: "a", url: "http://a", revision: key?.createRevision });
    expect(
      b
        .view()
        .members.map((m) => m.id)
        .sort(),
    ).toEqual(["a", "b"]);
  });

  it("stops acting at send time of the last keepalive + TTL − margin, and aborts the term's signal then", async () => {
    const clock = new ManualClock();
    const a = link(new MemoryEtcd(clock));
    const leader = member("a", a.etcd, clock);
    await leader.tick();
    const fence = leader.current();
    expect(fence?.deadline).toBe(clock.now() + TTL - MARGIN);
    a.cut = true;
    leader.start();
    await clock.advance(TTL - MARGIN - 1);
    expect(leader.current()).not.toBeNull();
    expect(fence?.signal.aborted).toBe(false);
    await clock.advance(1);
    expect(leader.current()).toBeNull();
    expect(fence?.signal.aborted).toBe(true);
    await leader.stop();
  });

  it("never lets two members act at once when the leader is cut off from etcd", async () => {
    const clock = new ManualClock();
    const etcd = new MemoryEtcd(clock);
    const a = link(etcd);
    const leaderA = member("a", a.etcd, clock);
    const leaderB = member("b", etcd, clock);
    await leaderA.tick();
    leaderA.start();
    leaderB.start();
    await clock.advance(1000);
    a.cut = true;
    let bLeadsAt: number | null = null;
    for (let t = 0; t < 5000; t += 10) {
      await clock.advance(10);
      expect(leaderA.current() !== null && leaderB.current() !== null).toBe(false);
      if (bLeadsAt === null && leaderB.current()) bLeadsAt = clock.now();
    }
    expect(bLeadsAt).not.toBeNull();
    expect(leaderB.current()?.revision).toBeGreaterThan(0);
    a.cut = false;
    await clock.advance(1000);
    // Back in touch, the old leader finds its lease gone and follows.
    expect(leaderA.current()).toBeNull();
    expect(leaderA.view().leader?.id).toBe("b");
    await leaderA.stop();
    await leaderB.stop();
  });

  it("keeps acting through a short etcd outage when a keepalive lands before the deadline", async () => {
    const clock = new ManualClock();
    const a = link(new MemoryEtcd(clock));
    const leader = member("a", a.etcd, clock);
    await leader.tick();
    const revision = leader.current()?.revision;
    leader.start();
    a.cut = true;
    await clock.advance(TTL - MARGIN - 200);
    a.cut = false;
    await clock.advance(600);
    expect(leader.current()?.revision).toBe(revision);
    await leader.stop();
  });

  it("steps down when the key is gone although the keepalive succeeded (etcd #14758, #15247)", async () => {
    const clock = new ManualClock();
    const etcd = new MemoryEtcd(clock);
    const leader = member("a", etcd, clock);
    await leader.tick();
    expect(await leader.confirm()).not.toBeNull();
    await etcd.txn({ compare: [], success: [{ delete: { key: "/hm/leader" } }] });
    expect(leader.current()).not.toBeNull(); // the local check alone cannot know
    expect(await leader.confirm()).toBeNull();
    expect(leader.current()).toBeNull();
  });

  it("hands over at once when the leader stops: it revokes its lease", async () => {
    const clock = new ManualClock();
    const etcd = new MemoryEtcd(clock);
    const a = member("a", etcd, clock);
    const b = member("b", etcd, clock);
    await a.tick();
    await b.tick();
    await a.stop();
    await b.tick();
    expect(b.current()).not.toBeNull();
    expect((await etcd.range("/hm/members/", { prefix: true })).kvs.map((kv) => kv.key)).toEqual([
      "/hm/members/b",
    ]);
  });

  it("says frozen after a TTL without an etcd quorum and resumes by itself", async () => {
    const clock = new ManualClock();
    const etcd = new MemoryEtcd(clock);
    const views: boolean[] = [];
    const a = new Leadership({
      etcd,
      prefix: "/hm/",
      id: "a",
      url: "http://a",
      ttlMs: TTL,
      clock,
      log: silentLogger,
      onChange: (view) => views.push(view.frozen),
    });
    a.start();
    await clock.advance(100); // the last contact was the tick at 0
    etcd.reachable = false;
    await clock.advance(TTL - 100);
    expect(a.view().frozen).toBe(false);
    await clock.advance(1);
    expect(a.view()).toMatchObject({ frozen: true, isLeader: false });
    await clock.advance(TTL / 4); // the next failed round tells onChange
    expect(views.at(-1)).toBe(true);
    etcd.reachable = true;
    await clock.advance(TTL);
    expect(a.view()).toMatchObject({ frozen: false, isLeader: true });
    expect(views.at(-1)).toBe(false);
    await a.stop();
  });
});
