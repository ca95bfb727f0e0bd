/**
 * HA takeover, measured with real etcd (three members), three coordinator processes and the DNS
 * stand-ins, 2 s leases: the leader is killed (SIGKILL) at the same moment as the primary fails.
 * Prints, per run and as median/max: leader death → the new leader's first DNS write (against the
 * lease TTL), and death → both providers switched (against failAfter × interval + TTL).
 * Run: npx tsx bench/ha.ts [runs]   (needs `etcd` on the PATH)
 */
import { PRIMARY, SECONDARY } from "../test/chaos/mesh.ts";
import { until } from "../test/chaos/processes.ts";
import { etcdBinary } from "../test/ha/etcd-cluster.ts";
import { startHaMesh, TTL_MS } from "../test/ha/ha-mesh.ts";

const RUNS = Number(process.argv[2] ?? 5);
const INTERVAL_MS = 500; // probes.interval of the mesh
const FAIL_AFTER = 2;

const binary = etcdBinary();
if (!binary) throw new Error("Cannot run bench/ha.ts: etcd is not on the PATH (apt-get install etcd-server)");
const mesh = await startHaMesh(binary);
const both = (target: string) => () =>
  mesh.standins.cfTarget() === target && mesh.standins.desecTarget() === target ? Date.now() : undefined;
const firstWrite: number[] = [];
const switched: number[] = [];
try {
  for (let run = 1; run <= RUNS; run++) {
    const leader = await mesh.leader({ timeoutMs: 20_000 });
    await until("both providers on the primary", both(PRIMARY), { timeoutMs: 20_000 });
    const requests = [mesh.standins.cf.standin.requests, mesh.standins.desec.standin.requests];
    for (const r of requests) r.reset();
    const killedAt = Date.now();
    const killed = leader.process.kill("SIGKILL");
    mesh.setPrimary(false);
    await killed;
    const bothAt = await until("both providers on the secondary", both(SECONDARY), { timeoutMs: 20_000 });
    const writes = requests.flatMap((r) =>
      r.fenced.filter((f) => !f.label.startsWith("GET")).map((f) => f.at),
    );
    const first = Math.min(...writes);
    firstWrite.push(first - killedAt);
    switched.push(bothAt - killedAt);
    console.log(
      `run ${run}: killed ${leader.id}; first DNS write after ${first - killedAt} ms, both switched after ${bothAt - killedAt} ms`,
    );
    await leader.restart();
    mesh.setPrimary(true);
    await until("both providers back on the primary", both(PRIMARY), { timeoutMs: 20_000 });
  }
} finally {
  await mesh.cleanup.run();
}
const stats = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)] ?? 0, max: sorted.at(-1) ?? 0 };
};
const w = stats(firstWrite);
const s = stats(switched);
const bound = FAIL_AFTER * INTERVAL_MS + TTL_MS;
console.log(`\nn=${RUNS}, lease TTL ${TTL_MS} ms`);
console.log(
  `leader death -> new leader's first DNS write: median ${w.median} ms, max ${w.max} ms (${(w.median / TTL_MS).toFixed(2)} x TTL median, ${(w.max / TTL_MS).toFixed(2)} x TTL max)`,
);
console.log(
  `leader + primary death -> both switched: median ${s.median} ms, max ${s.max} ms (bound failAfter x interval + TTL = ${bound} ms: ${(s.median / bound).toFixed(2)} x median, ${(s.max / bound).toFixed(2)} x max)`,
);
