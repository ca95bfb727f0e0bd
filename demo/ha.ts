/**
 * `npm run demo:ha`: three coordinators on a three-member etcd (loopback, 2 s leases), the
 * Cloudflare and deSEC stand-ins, three probes played by the demo and one real probe process. The
 * primary fails and the leading coordinator is killed (`kill -9`) at the same moment; another
 * coordinator takes over and finishes the failover. Prints the timeline; exits 0 when the cluster
 * carried on, 1 when it did not. Needs `etcd` on the PATH (Debian: etcd-server).
 */
import { PRIMARY, SECONDARY } from "../test/chaos/mesh.ts";
import { until } from "../test/chaos/processes.ts";
import { etcdBinary } from "../test/ha/etcd-cluster.ts";
import { startHaMesh, TTL_MS } from "../test/ha/ha-mesh.ts";

/** Runs the HA demo; resolves to the exit code. */
export async function runHaDemo(write: (line: string) => void): Promise<number> {
  const binary = etcdBinary();
  if (!binary) {
    write("etcd is not on the PATH: install it (Debian: apt-get install etcd-server) to watch the HA demo");
    return 2;
  }
  const started = Date.now();
  const say = (line: string) => write(`+${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s  ${line}`);
  say(
    `starting 3 etcd members, 3 coordinators (lease TTL ${TTL_MS / 1000} s), Cloudflare and deSEC stand-ins`,
  );
  const mesh = await startHaMesh(binary);
  try {
    const leader = await mesh.leader({ timeoutMs: 20_000 });
    say(`coordinators ${mesh.members.map((m) => `${m.id} ${m.base}`).join(", ")}`);
    say(`${leader.id} leads; the others follow and keep their own vote tallies`);
    await until("both providers on the primary", () =>
      mesh.standins.cfTarget() === PRIMARY && mesh.standins.desecTarget() === PRIMARY ? true : undefined,
    );
    say(`router on both providers: ${mesh.standins.cfTarget()}`);
    say(`the primary fails and ${leader.id} is killed with SIGKILL at the same moment`);
    const killedAt = Date.now();
    mesh.setPrimary(false);
    await leader.process.kill("SIGKILL");
    const survivors = mesh.members.filter((m) => m !== leader);
    const next = await mesh.leader({ among: survivors, timeoutMs: 4 * TTL_MS });
    say(
      `${next.id} leads, ${Date.now() - killedAt} ms after the kill (the dead leader's lease had to expire)`,
    );
    const bothAt = await until(
      "both providers on the secondary",
      () =>
        mesh.standins.cfTarget() === SECONDARY && mesh.standins.desecTarget() === SECONDARY
          ? Date.now()
          : undefined,
      { timeoutMs: 4 * TTL_MS },
    );
    say(`both providers serve ${SECONDARY} ${bothAt - killedAt} ms after the kill`);
    for (const [name, standin] of [
      ["Cloudflare", mesh.standins.cf.standin],
      ["deSEC", mesh.standins.desec.standin],
    ] as const) {
      const writes = standin.requests.fenced.filter((f) => !f.label.startsWith("GET")).slice(-1);
      say(
        `last ${name} write carried x-healthmesh-fence: ${writes[0]?.fence ?? "(none)"} (leader revision/decision)`,
      );
    }
    await leader.restart();
    // Its first election round tells it who leads; until then its status names nobody.
    const view = await until("the old leader to see the cluster", async () => {
      const cluster = (await leader.status())?.cluster;
      return cluster?.leader ? cluster : undefined;
    });
    say(`${leader.id} restarted and follows: it reports ${view.leader} as the leader`);
    return view.leader === next.id ? 0 : 1;
  } catch (error) {
    say(
      `the cluster did not carry on: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`,
    );
    return 1;
  } finally {
    await mesh.cleanup.run();
  }
}

// Run directly: npm run demo:ha
if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await runHaDemo((line) => console.log(line));
}
