/**
 * Scenario 6 on a fake clock: a leader pauses between the fence's pre-check and the provider call;
 * the write is aborted at its deadline, and when a predecessor's write lands late anyway, the new
 * leader's re-read after the longest request time puts its own target back. Two cluster members
 * (coordinator/ha/cluster.ts) over the in-memory etcd, each with a real Reconciler.
 */
import { describe, expect, it } from "vitest";
import type { DnsProvider, RouterRecord } from "../../coordinator/dns/provider.ts";
import { Reconciler } from "../../coordinator/dns/reconciler.ts";
import { type Cluster, joinCluster } from "../../coordinator/ha/cluster.ts";
import { FENCE_HEADER } from "../../coordinator/ha/dns-fence.ts";
import { type Etcd, EtcdError } from "../../coordinator/ha/etcd.ts";
import { MemoryEtcd } from "../../coordinator/ha/etcd-memory.ts";
import { MemoryStore } from "../../coordinator/store/memory.ts";
import { ManualClock } from "../../shared/clock.ts";
import { configFromObject } from "../../shared/config.ts";
import { silentLogger } from "../../shared/log.ts";

const ROUTER = "web-router.example.com";
const LONGEST_MS = 3000;

/** A DNS API in memory: one record; a write may be held ("in flight") and may land although aborted. */
class FakeDns {
  target = "old.example.net.";
  readonly writes: { target: string; fence: string }[] = [];
  /** Holds the next write (only that one) until it resolves. */
  hold: Promise<void> | null = null;
  /** The signal of the write being held. */
  heldSignal: AbortSignal | null = null;
  landEvenIfAborted = false;

  readonly fetch: typeof fetch = async (_input, init) => {
    const fence = new Headers(init?.headers).get(FENCE_HEADER) ?? "";
    if ((init?.method ?? "GET") === "GET") return Response.json({ target: this.target });
    const body = JSON.parse(String(init?.body)) as { target: string }; // written by the provider below
    const held = this.hold;
    if (held) {
      this.hold = null;
      this.heldSignal = init?.signal ?? null;
      await held; // the pause between the pre-check and the provider applying the write
      if (init?.signal?.aborted && !this.landEvenIfAborted) throw new DOMException("aborted", "AbortError");
    }
    this.target = body.target;
    this.writes.push({ target: body.target, fence });
    return Response.json({ ok: true });
  };
}

function provider(fetch: typeof globalThis.fetch): DnsProvider {
  return {
    name: "fake",
    async readRouters(names) {
      const { target } = (await (await fetch("http://dns/record")).json()) as { target: string }; // FakeDns's shape
      return new Map<string, RouterRecord | null>(
        names.map((n) => [n, { name: n, type: "CNAME", target, ttl: 60 }]),
      );
    },
    async writeRouters(changes) {
      for (const c of changes)
        await fetch("http://dns/record", { method: "POST", body: JSON.stringify({ target: c.target }) });
    },
  };
}

function cutOff(etcd: Etcd): { etcd: Etcd; cut: boolean } {
  const state = { cut: false, etcd };
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

function member(id: string, world: { clock: ManualClock; etcd: Etcd; dns: FakeDns }, target: string) {
  const config = configFromObject({
    zone: "example.com",
    providers: { memory: {} },
    services: [
      {
        name: "web",
        router: "web-router",
        primary: { target: "old.example.net.", check: { url: "https://a.example.net/" } },
        secondary: { target: "new.example.net.", check: { url: "https://b.example.net/" } },
      },
    ],
    probes: { members: [{ id: "p", provider: "x", secretEnv: "P" }] },
    coordinator: {
      ha: { id, url: `http://${id}`, etcd: { endpoints: ["http://unused:2379"], leaseTtl: "2s" } },
    },
  });
  const ha = config.coordinator.ha;
  if (!ha) throw new Error("The test config has no coordinator.ha");
  const cluster: Cluster = joinCluster({
    config,
    ha,
    env: () => undefined,
    fetch: world.dns.fetch,
    clock: world.clock,
    log: silentLogger,
    local: new MemoryStore(),
    etcd: world.etcd,
  });
  const reconciler = new Reconciler([provider(cluster.providerFetch)], {
    clock: world.clock,
    log: silentLogger,
    timing: () => ({ timeoutMs: LONGEST_MS, maxBackoffMs: 1000 }),
    persist: async () => {},
    active: cluster.leads,
    random: () => 0.5,
  });
  reconciler.setDesired([{ service: "web", router: ROUTER, target, ttl: { fake: 60 } }]);
  cluster.attach(
    { adopt: async (pick) => void pick(), recordEvent: async () => {}, reconciler },
    { longestRequestMs: LONGEST_MS },
  );
  return { cluster, reconciler };
}

describe("scenario 6: a pause between the fence's pre-check and the provider call", () => {
  it("aborts the paused write at the deadline; a late landing is put right by the new leader's re-read", async () => {
    const clock = new ManualClock();
    const shared = new MemoryEtcd(clock);
    const dns = new FakeDns();
    const linkA = cutOff(shared);
    let release = () => {};
    dns.hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    // A leads and wants "stale." (an old decision); its first write passes the pre-check and pauses.
    const a = member("a", { clock, etcd: linkA.etcd, dns }, "stale.example.net.");
    await clock.advance(10);
    expect(a.cluster.leads()).toBe(true);
    expect(dns.heldSignal).not.toBeNull();
    linkA.cut = true;
    const b = member("b", { clock, etcd: shared, dns }, "new.example.net.");
    const aDeadline = a.cluster.leadership.current()?.deadline ?? 0;
    await clock.advance(aDeadline - clock.now() - 1);
    expect(dns.heldSignal?.aborted).toBe(false);
    await clock.advance(1);
    expect(dns.heldSignal?.aborted).toBe(true); // aborted at the deadline, not merely abandoned
    expect(a.cluster.leads()).toBe(false);
    // B takes over once A's lease has expired and converges the provider at once.
    await until(clock, () => dns.target === "new.example.net.");
    expect(b.cluster.leads()).toBe(true);
    // A's request was already on the wire: it lands late although aborted.
    dns.landEvenIfAborted = true;
    release();
    await clock.advance(1);
    expect(dns.target).toBe("stale.example.net.");
    const late = dns.writes.at(-1);
    const bRevision = b.cluster.leadership.current()?.revision ?? 0;
    expect(Number(late?.fence.split("/")[0])).toBeLessThan(bRevision);
    // The new leader re-reads after the longest request time and puts its target back.
    await clock.advance(LONGEST_MS + 100);
    expect(dns.target).toBe("new.example.net.");
    expect(Number(dns.writes.at(-1)?.fence.split("/")[0])).toBe(bRevision);
    a.reconciler.stop();
    b.reconciler.stop();
    await Promise.all([a.cluster.stop(), b.cluster.stop()]).catch(() => undefined);
  });
});

async function until(clock: ManualClock, done: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !done(); i++) await clock.advance(100);
  expect(done()).toBe(true);
}
