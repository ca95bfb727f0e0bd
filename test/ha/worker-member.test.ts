/**
 * A Workers coordinator (coordinator/worker.ts bundled as wrangler uploads it, its Durable Object in
 * real workerd through Miniflare) and a Node coordinator process form one HA cluster on a real etcd,
 * switching the Cloudflare and deSEC stand-ins, which record the fence every write carries.
 * One leads and the other follows; stopping the leader's runtime hands over, in both directions.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { etcdClient } from "../../coordinator/ha/etcd-client.ts";
import { systemClock } from "../../shared/clock.ts";
import {
  type Events,
  meshEnv,
  meshYaml,
  PRIMARY,
  postReport,
  SECONDARY,
  startStandins,
} from "../chaos/mesh.ts";
import {
  api,
  Cleanup,
  type CoordinatorProcess,
  sleep,
  startCoordinator,
  TOKEN,
  until,
} from "../chaos/processes.ts";
import {
  bundleCoordinatorWorker,
  type CoordinatorWorker,
  startCoordinatorWorker,
} from "../edges/coordinator-worker-runtime.ts";
import { freePort } from "../support/ports.ts";
import { type EtcdCluster, etcdBinary, startEtcdCluster } from "./etcd-cluster.ts";
import type { HaStatus } from "./ha-mesh.ts";

const binary = etcdBinary();
const TTL_MS = 2000;
const PREFIX = "/hm-worker/";
const PROBES = ["pa", "pb", "pc"];

/** Writes (not GETs) a stand-in served, with the leader revision each one's fence header carried. */
function writeRevisions(requests: { fenced: { label: string; fence: string }[] }): number[] {
  return requests.fenced.filter((f) => !f.label.startsWith("GET")).map((f) => Number(f.fence.split("/")[0]));
}

// Skipped only on a developer machine without etcd: with CI=true, etcdBinary() throws and the run fails.
describe.skipIf(!binary)("a Durable Object coordinator in an HA cluster with a Node coordinator", () => {
  const cleanup = new Cleanup();
  const output: string[] = [];
  let etcd: EtcdCluster;
  let standins: Awaited<ReturnType<typeof startStandins>>;
  let bundle: { dir: string; file: string };
  let persistDir: string;
  let workerPort: number;
  let nodePort: number;
  let worker: CoordinatorWorker | null = null;
  let node: CoordinatorProcess | null = null;
  let primaryOk = true;
  let votesToWorker = true;

  const yamlFor = (id: string, url: string) => `${meshYaml({
    probes: PROBES,
    // The test plays the probes; nobody checks these URLs.
    primaryUrl: "http://127.0.0.1:9/primary",
    secondaryUrl: "http://127.0.0.1:9/secondary",
    cloudflare: standins.cf.apiBase,
    desec: standins.desec.apiBase,
    interval: "1s",
    failAfter: 2,
  })}coordinator:
  ha:
    id: ${id}
    url: ${url}
    etcd: { endpoints: [${etcd.endpoints.join(", ")}], prefix: ${PREFIX}, leaseTtl: ${TTL_MS / 1000}s }
`;
  const workerUrl = () => `http://127.0.0.1:${workerPort}`;
  const nodeUrl = () => `http://127.0.0.1:${nodePort}`;
  const startWorker = async () => {
    worker = await startCoordinatorWorker(bundle.file, {
      persistDir,
      port: workerPort,
      output,
      bindings: {
        HEALTHMESH_CONFIG: yamlFor("edge", workerUrl()),
        HEALTHMESH_API_TOKEN: TOKEN,
        ...meshEnv(PROBES),
      },
    });
  };
  const status = (base: string) => api<HaStatus>(base, "/v1/status");
  const context = () =>
    `--- workerd\n${output.join("").slice(-3000)}\n--- node\n${node?.output().slice(-3000) ?? ""}`;
  const leaderRevision = async () => {
    const client = etcdClient({ endpoints: etcd.endpoints, fetch, clock: systemClock(), timeoutMs: 2000 });
    return (await client.range(`${PREFIX}leader`)).kvs[0]?.createRevision ?? 0;
  };
  /** Waits until every live member names `id` as leader and `id` itself claims it. */
  const leaderIs = (id: string, bases: string[], timeoutMs = 20_000) =>
    until(
      `every live member to name "${id}" the leader`,
      async () => {
        const views = await Promise.all(bases.map(status));
        return views.every((v) => v?.cluster?.leader === id) && views.some((v) => v?.cluster?.self === id)
          ? views
          : undefined;
      },
      { timeoutMs, context },
    );
  const both = (target: string) => () =>
    standins.cfTarget() === target && standins.desecTarget() === target ? true : undefined;

  beforeAll(async () => {
    etcd = await startEtcdCluster(binary ?? "", 1);
    cleanup.add(() => etcd.stop());
    standins = await startStandins(cleanup);
    bundle = await bundleCoordinatorWorker();
    cleanup.add(() => rmSync(bundle.dir, { recursive: true, force: true }));
    persistDir = mkdtempSync(join(tmpdir(), "hm-worker-member-"));
    cleanup.add(() => rmSync(persistDir, { recursive: true, force: true }));
    workerPort = await freePort();
    nodePort = await freePort();
    // The probes, played by the test: every 250 ms each posts its signed vote to both coordinators.
    const timer = setInterval(() => {
      for (const probe of PROBES) {
        const results = { primary: primaryOk, secondary: true };
        if (node) postReport(node.base, probe, results).catch(() => undefined); // down: a silent probe
        if (worker && votesToWorker) postReport(worker.url, probe, results).catch(() => undefined);
      }
    }, 250);
    cleanup.add(() => clearInterval(timer));
  }, 120_000);

  afterAll(async () => {
    await worker?.close();
    await cleanup.run();
  });

  it("the Durable Object leads, the Node coordinator follows, and the DO's DNS writes carry its fence", async () => {
    await startWorker();
    await leaderIs("edge", [workerUrl()]);
    node = await startCoordinator(yamlFor("node", nodeUrl()), meshEnv(PROBES), cleanup, {
      port: String(nodePort),
    });
    const [, fromNode] = await leaderIs("edge", [workerUrl(), nodeUrl()]);
    expect(fromNode?.cluster?.self).toBe("node");
    // The leader sees the new member at its next heartbeat round (every TTL / 4).
    await until("the DO to list both members", async () => {
      const ids = (await status(workerUrl()))?.cluster?.members.map((m) => m.id).sort();
      return ids?.join() === "edge,node" ? true : undefined;
    });
    await until("both providers on the primary", both(PRIMARY), { context });
    const revision = await leaderRevision();
    expect(revision).toBeGreaterThan(0);
    const written = [
      ...writeRevisions(standins.cf.standin.requests),
      ...writeRevisions(standins.desec.standin.requests),
    ];
    expect(written.length).toBeGreaterThan(0);
    expect(new Set(written)).toEqual(new Set([revision]));
  });

  it("keeps its lease on timers and the alarm with no request reaching the object", async () => {
    votesToWorker = false;
    const seen = new Set<string>();
    const end = Date.now() + 3 * TTL_MS;
    while (Date.now() < end) {
      const view = await status(nodeUrl()); // only the Node member is asked
      seen.add(`${view?.cluster?.leader}/${view?.cluster?.frozen}`);
      await sleep(100);
    }
    votesToWorker = true;
    expect([...seen]).toEqual(["edge/false"]);
  });

  it("the DO leader fails the service over; the Node follower writes nothing and shows the decision from etcd", async () => {
    standins.cf.standin.requests.reset();
    standins.desec.standin.requests.reset();
    primaryOk = false;
    await until("the DO leader to switch both providers", both(SECONDARY), { context });
    const revision = await leaderRevision();
    expect(new Set(writeRevisions(standins.cf.standin.requests))).toEqual(new Set([revision]));
    expect(new Set(writeRevisions(standins.desec.standin.requests))).toEqual(new Set([revision]));
    await until("the follower to adopt the failover", async () =>
      (await status(nodeUrl()))?.services[0]?.active === "secondary" ? true : undefined,
    );
    const nodeEvents = (await api<Events>(nodeUrl(), "/v1/events?limit=500"))?.events ?? [];
    expect(nodeEvents.filter((e) => e.type === "failover")).toEqual([]);
  });

  it("stopping workerd hands leadership to the Node coordinator, which fails back with a newer fence", async () => {
    const before = await leaderRevision();
    await worker?.close();
    worker = null;
    await leaderIs("node", [nodeUrl()], 2 * TTL_MS + 2000);
    const after = await leaderRevision();
    expect(after).toBeGreaterThan(before);
    standins.cf.standin.requests.reset();
    standins.desec.standin.requests.reset();
    primaryOk = true;
    await until("the Node leader to fail back on both providers", both(PRIMARY), { context });
    const written = [
      ...writeRevisions(standins.cf.standin.requests),
      ...writeRevisions(standins.desec.standin.requests),
    ];
    expect(new Set(written)).toEqual(new Set([after]));
  });

  it("the restarted Durable Object rejoins as a follower; kill -9 of the Node leader hands back to it", async () => {
    await startWorker();
    const [fromEdge] = await leaderIs("node", [workerUrl(), nodeUrl()]);
    expect(fromEdge?.cluster?.self).toBe("edge");
    await until("the DO follower to adopt the fail-back", async () =>
      (await status(workerUrl()))?.services[0]?.active === "primary" ? true : undefined,
    );
    const before = await leaderRevision();
    await node?.kill("SIGKILL");
    node = null;
    await leaderIs("edge", [workerUrl()], 2 * TTL_MS + 2000);
    const after = await leaderRevision();
    expect(after).toBeGreaterThan(before);
    standins.cf.standin.requests.reset();
    standins.desec.standin.requests.reset();
    primaryOk = false;
    await until("the DO leader to switch both providers again", both(SECONDARY), { context });
    const written = [
      ...writeRevisions(standins.cf.standin.requests),
      ...writeRevisions(standins.desec.standin.requests),
    ];
    expect(new Set(written)).toEqual(new Set([after]));
  });
});
