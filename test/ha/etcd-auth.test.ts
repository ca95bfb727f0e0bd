/** The etcd client with user/password auth against a real etcd that has auth enabled, tokens living 1 s. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EtcdError } from "../../coordinator/ha/etcd.ts";
import { etcdClient } from "../../coordinator/ha/etcd-client.ts";
import { systemClock } from "../../shared/clock.ts";
import { sleep } from "../chaos/processes.ts";
import { type EtcdCluster, etcdBinary, startEtcdCluster } from "./etcd-cluster.ts";

const binary = etcdBinary();
const b64 = (text: string) => Buffer.from(text).toString("base64");

/** Sets up users through the gateway as an operator would with etcdctl: root, and "hm" with read-write on /hm/. */
async function enableAuth(url: string): Promise<void> {
  const steps: [string, unknown][] = [
    ["/v3/auth/user/add", { name: "root", password: "root-pw" }],
    ["/v3/auth/role/add", { name: "root" }],
    ["/v3/auth/user/grant", { user: "root", role: "root" }],
    ["/v3/auth/user/add", { name: "hm", password: "hm-pw" }],
    ["/v3/auth/role/add", { name: "hm" }],
    [
      "/v3/auth/role/grant",
      { name: "hm", perm: { permType: "READWRITE", key: b64("/hm/"), range_end: b64("/hm0") } },
    ],
    ["/v3/auth/user/grant", { user: "hm", role: "hm" }],
    ["/v3/auth/enable", {}],
  ];
  for (const [path, body] of steps) {
    const response = await fetch(`${url}${path}`, { method: "POST", body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`etcd refused ${path}: ${await response.text()}`);
  }
}

// Skipped only on a developer machine without etcd: with CI=true, etcdBinary() throws and the run fails.
describe.skipIf(!binary)("etcdClient() with etcd auth", () => {
  let cluster: EtcdCluster;
  beforeAll(async () => {
    cluster = await startEtcdCluster(binary ?? "", 1, ["--auth-token", "simple", "--auth-token-ttl", "1"]);
    await enableAuth(cluster.endpoints[0] ?? "");
  });
  afterAll(async () => cluster?.stop());

  it("reads and writes with a user's token, and gets a new token when etcd expired the old one", async () => {
    const etcd = etcdClient({
      endpoints: cluster.endpoints,
      fetch,
      clock: systemClock(),
      auth: { username: "hm", password: "hm-pw" },
    });
    await etcd.put("/hm/a", "1");
    const lease = await etcd.leaseGrant(5);
    expect((await etcd.range("/hm/a")).kvs[0]?.value).toBe("1");
    await sleep(2500); // longer than --auth-token-ttl: the simple token is gone
    expect(
      (await etcd.txn({ compare: [], success: [{ put: { key: "/hm/b", value: "2", lease: lease.id } }] }))
        .succeeded,
    ).toBe(true);
    expect((await etcd.range("/hm/", { prefix: true })).kvs.map((kv) => kv.key)).toEqual(["/hm/a", "/hm/b"]);
  });

  it("is refused without credentials, with a wrong password, and outside the user's prefix", async () => {
    const anonymous = etcdClient({ endpoints: cluster.endpoints, fetch, clock: systemClock() });
    const refused = await anonymous.range("/hm/a").catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(EtcdError);
    expect(refused).toMatchObject({ retryable: false });
    const wrong = etcdClient({
      endpoints: cluster.endpoints,
      fetch,
      clock: systemClock(),
      auth: { username: "hm", password: "nope" },
    });
    await expect(wrong.range("/hm/a")).rejects.toThrow(/authentication failed/);
    const user = etcdClient({
      endpoints: cluster.endpoints,
      fetch,
      clock: systemClock(),
      auth: { username: "hm", password: "hm-pw" },
    });
    await expect(user.put("/other/x", "1")).rejects.toThrow(/permission denied/);
  });
});
