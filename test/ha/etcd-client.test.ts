/** The JSON-gateway etcd client against a real etcd cluster (three members on loopback), plus its timeouts on a fake clock. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Etcd, EtcdError } from "../../coordinator/ha/etcd.ts";
import { etcdClient } from "../../coordinator/ha/etcd-client.ts";
import { ManualClock, systemClock } from "../../shared/clock.ts";
import { type EtcdCluster, etcdBinary, startEtcdCluster } from "./etcd-cluster.ts";

const binary = etcdBinary();

// Skipped only on a developer machine without etcd: with CI=true, etcdBinary() throws and the run fails.
describe.skipIf(!binary)("etcdClient() against real etcd", () => {
  let cluster: EtcdCluster;
  let etcd: Etcd;
  beforeAll(async () => {
    cluster = await startEtcdCluster(binary ?? "", 3);
    etcd = etcdClient({ endpoints: cluster.endpoints, fetch, clock: systemClock() });
  });
  afterAll(async () => cluster?.stop());

  it("puts and reads keys and values that are not ASCII, one key or a whole prefix", async () => {
    await etcd.put("/t/a/é", "vä1");
    await etcd.put("/t/a/b", "v2");
    await etcd.put("/t/ab", "outside");
    const one = await etcd.range("/t/a/é");
    expect(one.kvs).toMatchObject([{ key: "/t/a/é", value: "vä1", version: 1 }]);
    const all = await etcd.range("/t/a/", { prefix: true });
    expect(all.kvs.map((kv) => kv.key).sort()).toEqual(["/t/a/b", "/t/a/é"]);
    expect(all.revision).toBeGreaterThanOrEqual(one.kvs[0]?.modRevision ?? Number.POSITIVE_INFINITY);
  });

  it("creates a key only when absent (create_revision == 0) and answers the holder otherwise", async () => {
    const create = {
      compare: [{ key: "/t/leader", target: "create" as const, value: 0 }],
      success: [{ put: { key: "/t/leader", value: "first" } }],
      failure: [{ range: { key: "/t/leader" } }],
    };
    const won = await etcd.txn(create);
    expect(won.succeeded).toBe(true);
    const lost = await etcd.txn({ ...create, success: [{ put: { key: "/t/leader", value: "second" } }] });
    expect(lost.succeeded).toBe(false);
    expect(lost.results[0]?.kvs[0]).toMatchObject({ value: "first", createRevision: won.revision });
  });

  it("guards writes on mod_revision and on value", async () => {
    const { revision } = await etcd.put("/t/state", "v1");
    const stale = await etcd.txn({
      compare: [{ key: "/t/state", target: "mod", value: revision - 1 }],
      success: [{ put: { key: "/t/state", value: "stale" } }],
    });
    expect(stale.succeeded).toBe(false);
    const fresh = await etcd.txn({
      compare: [
        { key: "/t/state", target: "mod", value: revision },
        { key: "/t/state", target: "value", value: "v1" },
      ],
      success: [{ put: { key: "/t/state", value: "v2" } }, { range: { key: "/t/state" } }],
    });
    expect(fresh.succeeded).toBe(true);
    expect(fresh.results[1]?.kvs[0]?.value).toBe("v2");
    const notEqual = await etcd.txn({
      compare: [{ key: "/t/state", target: "value", result: "not-equal", value: "v2" }],
      success: [{ delete: { key: "/t/state" } }],
    });
    expect(notEqual.succeeded).toBe(false);
  });

  it("binds a key to a lease: keepalive renews it, revoke deletes the key, a gone lease renews to 0", async () => {
    const lease = await etcd.leaseGrant(2);
    expect(lease.ttlSeconds).toBeGreaterThanOrEqual(2);
    await etcd.put("/t/leased", "x", { lease: lease.id });
    expect((await etcd.range("/t/leased")).kvs[0]?.lease).toBe(lease.id);
    expect((await etcd.leaseKeepAlive(lease.id)).ttlSeconds).toBeGreaterThan(0);
    await etcd.leaseRevoke(lease.id);
    expect((await etcd.range("/t/leased")).kvs).toEqual([]);
    expect((await etcd.leaseKeepAlive(lease.id)).ttlSeconds).toBe(0);
    await expect(etcd.leaseRevoke(lease.id)).resolves.toBeUndefined();
    const refused = await etcd.put("/t/leased", "y", { lease: lease.id }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(EtcdError);
    expect(refused).toMatchObject({ code: 5, retryable: false });
  });

  it("moves on to the next endpoint when the first one does not answer", async () => {
    const dead = "http://127.0.0.1:9"; // discard port: nothing listens there
    const client = etcdClient({ endpoints: [dead, ...cluster.endpoints], fetch, clock: systemClock() });
    await client.put("/t/failover", "ok");
    expect((await client.range("/t/failover")).kvs[0]?.value).toBe("ok");
  });

  it("keeps answering with one member of three killed", async () => {
    const first = cluster.members[0];
    await first?.kill();
    await etcd.put("/t/two-of-three", "ok");
    expect((await etcd.range("/t/two-of-three")).kvs[0]?.value).toBe("ok");
  });
});

describe("etcdClient() timeouts and errors", () => {
  function hangingFetch(calls: string[]): typeof fetch {
    return (input, init) => {
      calls.push(String(input));
      return new Promise((_resolve, reject) => {
        init?.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
      });
    };
  }

  it("aborts a request after timeoutMs on the injected clock and tries the next endpoint", async () => {
    const clock = new ManualClock();
    const calls: string[] = [];
    const etcd = etcdClient({
      endpoints: ["http://a", "http://b"],
      fetch: hangingFetch(calls),
      clock,
      timeoutMs: 500,
    });
    const result = etcd.range("k").catch((e: unknown) => e);
    await clock.advance(499);
    expect(calls).toEqual(["http://a/v3/kv/range"]);
    await clock.advance(1);
    expect(calls).toEqual(["http://a/v3/kv/range", "http://b/v3/kv/range"]);
    await clock.advance(500);
    const error = await result;
    expect(error).toBeInstanceOf(EtcdError);
    expect(String(error)).toContain('Cannot reach etcd at "http://b/v3/kv/range": no answer in 500 ms');
  });

  it("stops at once when the caller's signal aborts (a leader's deadline), without trying another endpoint", async () => {
    const calls: string[] = [];
    const etcd = etcdClient({
      endpoints: ["http://a", "http://b"],
      fetch: hangingFetch(calls),
      clock: new ManualClock(),
    });
    const deadline = new AbortController();
    const result = etcd.put("k", "v", { signal: deadline.signal }).catch((e: unknown) => e);
    deadline.abort();
    expect(String(await result)).toContain("aborted");
    expect(calls).toEqual(["http://a/v3/kv/put"]);
  });

  it("does not retry an answer etcd refused for good, and keeps etcd's message", async () => {
    const calls: string[] = [];
    const refuse: typeof fetch = async (input) => {
      calls.push(String(input));
      return Response.json(
        { error: "etcdserver: permission denied", message: "etcdserver: permission denied", code: 7 },
        { status: 403 },
      );
    };
    const etcd = etcdClient({ endpoints: ["http://a", "http://b"], fetch: refuse, clock: new ManualClock() });
    const error = await etcd.range("k").catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 7, retryable: false });
    expect(String(error)).toContain("etcdserver: permission denied");
    expect(calls).toHaveLength(1);
  });

  it("authenticates with user and password and sends the token etcd answered", async () => {
    const seen: { path: string; auth: string | null }[] = [];
    const fake: typeof fetch = async (input, init) => {
      const path = new URL(String(input)).pathname;
      seen.push({ path, auth: new Headers(init?.headers).get("authorization") });
      if (path === "/v3/auth/authenticate") return Response.json({ token: "tok-1" });
      return Response.json({ header: { revision: "7" }, kvs: [] });
    };
    const etcd = etcdClient({
      endpoints: ["http://a"],
      fetch: fake,
      clock: new ManualClock(),
      auth: { username: "hm", password: "pw" },
    });
    expect((await etcd.range("k")).revision).toBe(7);
    expect(seen).toEqual([
      { path: "/v3/auth/authenticate", auth: null },
      { path: "/v3/kv/range", auth: "tok-1" },
    ]);
  });
});
