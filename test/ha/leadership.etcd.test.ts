/** Leadership against a real three-member etcd with a 2 s lease: takeover, no overlap, Raft leader loss. */
import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { etcdClient } from "../../coordinator/ha/etcd-client.ts";
import { Leadership } from "../../coordinator/ha/leadership.ts";
import { systemClock } from "../../shared/clock.ts";
import { silentLogger } from "../../shared/log.ts";
import { sleep, until } from "../chaos/processes.ts";
import { type EtcdCluster, etcdBinary, raftLeader, startEtcdCluster } from "./etcd-cluster.ts";

const binary = etcdBinary();

// Skipped only on a developer machine without etcd: with CI=true, etcdBinary() throws and the run fails.
describe.skipIf(!binary)("Leadership on real etcd", () => {
  let cluster: EtcdCluster;
  const members: Leadership[] = [];
  beforeAll(async () => {
    cluster = await startEtcdCluster(binary ?? "", 3);
  });
  afterAll(async () => {
    await Promise.all(members.splice(0).map((m) => m.stop()));
    await cluster?.stop();
  });

  function join(id: string, prefix: string, cut?: { on: boolean }): Leadership {
    const guarded: typeof fetch = (input, init) =>
      cut?.on ? Promise.reject(new TypeError("fetch failed: partitioned")) : fetch(input, init);
    const etcd = etcdClient({
      endpoints: cluster.endpoints,
      fetch: guarded,
      clock: systemClock(),
      timeoutMs: 1000,
    });
    const m = new Leadership({
      etcd,
      prefix,
      id,
      url: `http://${id}`,
      ttlMs: 2000,
      clock: systemClock(),
      monotonic: () => performance.now(),
      log: silentLogger,
    });
    members.push(m);
    m.start();
    return m;
  }

  it("elects one leader; when it is cut off, the next one acts only after the old one's deadline", async () => {
    const cut = { on: false };
    const a = join("a", "/one/", cut);
    await until("a to lead", () => a.current() ?? undefined, { timeoutMs: 5000 });
    const b = join("b", "/one/");
    const c = join("c", "/one/");
    await until("b and c to see a", () =>
      b.view().leader?.id === "a" && c.view().leader?.id === "a" ? true : undefined,
    );
    const lastDeadline = a.current()?.deadline ?? 0;
    cut.on = true;
    const next = await until("b or c to lead", () => b.current() ?? c.current() ?? undefined, {
      timeoutMs: 6000,
    });
    const tookOverAt = performance.now();
    expect(a.current()).toBeNull();
    // The old leader's deadline can only have moved earlier since it was cut off.
    expect(tookOverAt).toBeGreaterThan(lastDeadline);
    expect(next.revision).toBeGreaterThan(a.view().leader?.revision ?? 0);
    cut.on = false;
    await until("a to follow the new leader", () =>
      a.view().leader?.id !== "a" && a.view().leader ? true : undefined,
    );
    expect(a.current()).toBeNull();
  });

  it("keeps the same leader when etcd's Raft leader member is killed", async () => {
    const a = join("ra", "/raft/");
    const fence = await until("ra to lead", () => a.current() ?? undefined, { timeoutMs: 5000 });
    join("rb", "/raft/");
    const raft = await raftLeader(cluster);
    await raft.kill();
    await sleep(3000); // longer than the lease TTL: a lost lease would have shown by now
    const after = await until("ra to confirm its leadership", () => a.confirm().then((f) => f ?? undefined), {
      timeoutMs: 5000,
    });
    expect(after.revision).toBe(fence.revision);
    await raft.restart();
  });
});
