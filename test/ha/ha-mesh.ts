/** A real HA mesh for the scenarios: three etcd members, three coordinator processes, both DNS stand-ins. */
import { startOrigin } from "../../demo/origins.ts";
import { type Events, meshEnv, meshYaml, secretOf, startStandins, startVoters } from "../chaos/mesh.ts";
import {
  api,
  Cleanup,
  type CoordinatorProcess,
  startCoordinator,
  startProbe,
  until,
} from "../chaos/processes.ts";
import { freePort } from "../support/ports.ts";
import { type EtcdCluster, startEtcdCluster } from "./etcd-cluster.ts";

/** The lease TTL the scenarios run with. */
export const TTL_MS = 2000;
/** Probes the test plays (posting to every coordinator), and one real probe process whose first coordinator URL is dead. */
export const PROBES = ["pa", "pb", "pc"];
export const REAL_PROBE = "pd";
const DEAD_URL = "http://127.0.0.1:9";

/** The `cluster` part of `/v1/status`, and what the scenarios read of the rest. */
export interface HaStatus {
  cluster?: {
    self: string;
    leader: string | null;
    frozen: boolean;
    members: { id: string; leader: boolean }[];
  };
  services: { active: string; mode: string; dns: Record<string, { state: string; target: string | null }> }[];
}

/** The etcd prefix of the scenarios' cluster. */
export const PREFIX = "/hm-test/";

/** Coordinator i talks to etcd member i first: "its" member, as on three vendors. */
function rotate<T>(items: T[], by: number): T[] {
  return [...items.slice(by), ...items.slice(0, by)];
}

/** One running coordinator of the mesh. */
export interface Member {
  id: string;
  /** Index of its own etcd member in `etcd.members`. */
  index: number;
  base: string;
  /** The current process (replaced by `restart`). */
  process: CoordinatorProcess;
  restart(): Promise<void>;
  status(): Promise<HaStatus | undefined>;
  events(): Promise<Events["events"]>;
}

/** The whole mesh and its knobs. */
export type HaMesh = Awaited<ReturnType<typeof startHaMesh>>;

/** Starts etcd, the stand-ins and three coordinators; the test posts the probes' votes to all three. */
export async function startHaMesh(etcdBinary: string, options: { providerTimeout?: string } = {}) {
  const cleanup = new Cleanup();
  const etcd: EtcdCluster = await startEtcdCluster(etcdBinary, 3);
  cleanup.add(() => etcd.stop());
  const standins = await startStandins(cleanup);
  const primary = await startOrigin("primary");
  const secondary = await startOrigin("secondary");
  cleanup.add(() => Promise.all([primary.close(), secondary.close()]));
  const ids = ["ca", "cb", "cc"];
  const ports = await Promise.all(ids.map(() => freePort()));
  const base = meshYaml({
    probes: [...PROBES, REAL_PROBE],
    primaryUrl: primary.url,
    secondaryUrl: secondary.url,
    cloudflare: standins.cf.apiBase,
    desec: standins.desec.apiBase,
    providerTimeout: options.providerTimeout ?? "2s",
  });
  const members: Member[] = [];
  const env = meshEnv([...PROBES, REAL_PROBE]);
  for (const [i, id] of ids.entries()) {
    const url = `http://127.0.0.1:${ports[i]}`;
    const yaml = `${base}coordinator:
  ha:
    id: ${id}
    url: ${url}
    etcd: { endpoints: [${rotate(etcd.endpoints, i).join(", ")}], prefix: ${PREFIX}, leaseTtl: ${TTL_MS / 1000}s }
`;
    const first = await startCoordinator(yaml, env, cleanup, { port: String(ports[i]) });
    const member: Member = {
      id,
      index: i,
      base: first.base,
      process: first,
      status: () => api<HaStatus>(first.base, "/v1/status"),
      events: async () => (await api<Events>(first.base, "/v1/events?limit=1000"))?.events ?? [],
      async restart() {
        // The same port, config and data dir; later kills and signals go to the new process.
        member.process = await member.process.restart();
      },
    };
    members.push(member);
  }
  let primaryOk = true;
  for (const m of members) {
    startVoters(m.base, PROBES, { intervalMs: 250, primaryOk: () => primaryOk, cleanup });
  }
  const urls = [DEAD_URL, ...members.map((m) => m.base)].join(",");
  const realProbe = startProbe(REAL_PROBE, secretOf(REAL_PROBE), urls, cleanup);
  return {
    etcd,
    standins,
    members,
    cleanup,
    realProbe,
    setPrimary(ok: boolean) {
      primaryOk = ok;
      primary.up = ok;
    },
    /** The member every live member names as leader, once they agree. */
    async leader(options: { among?: Member[]; timeoutMs?: number } = {}): Promise<Member> {
      const among = options.among ?? members;
      return until(
        "the live coordinators to agree on a leader",
        async () => {
          const views = await Promise.all(among.map((m) => m.status()));
          const named = views.map((v) => v?.cluster?.leader ?? null);
          const first = named[0];
          if (!first || named.some((n) => n !== first)) return undefined;
          const leader = among.find((m) => m.id === first);
          const own = await leader?.status();
          return own?.cluster?.members.find((x) => x.id === first)?.leader ? leader : undefined;
        },
        {
          timeoutMs: options.timeoutMs ?? 10_000,
          context: () => among.map((m) => `--- ${m.id}\n${m.process.output().slice(-1500)}`).join("\n"),
        },
      );
    },
  };
}
