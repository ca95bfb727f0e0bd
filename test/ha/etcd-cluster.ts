/** Real etcd members on loopback for the HA tests: data on /dev/shm, each member killed by its PID. */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { requireBinary } from "../support/binaries.ts";
import { freePort } from "../support/ports.ts";

/** The etcd binary on the PATH, or null (skip) on a developer machine; with CI set a missing etcd throws, so the run fails. */
export function etcdBinary(): string | null {
  return requireBinary("etcd", { install: "apt-get install etcd-server" });
}

/** One etcd member process. */
export interface EtcdMember {
  name: string;
  clientUrl: string;
  pid(): number | undefined;
  /** Sends a signal to the member's PID (SIGSTOP/SIGCONT/SIGKILL). */
  signal(signal: NodeJS.Signals): void;
  /** SIGKILLs the member and waits for its exit. */
  kill(): Promise<void>;
  /** Starts the member again on the same data dir and ports. */
  restart(): Promise<void>;
  output(): string;
}

/** A running cluster; `stop()` kills every member by PID and removes the data. */
export interface EtcdCluster {
  members: EtcdMember[];
  endpoints: string[];
  stop(): Promise<void>;
}

/** Starts `size` members (1 or 3) and resolves once every member answers a linearizable read. */
export async function startEtcdCluster(
  binary: string,
  size = 3,
  extraArgs: string[] = [],
): Promise<EtcdCluster> {
  const root = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : "/tmp", "hm-etcd-"));
  const specs: { name: string; client: number; peer: number }[] = [];
  for (let i = 1; i <= size; i++) {
    specs.push({ name: `m${i}`, client: await freePort(), peer: await freePort() });
  }
  const initialCluster = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peer}`).join(",");
  const members = specs.map((spec) => {
    const args = [
      ["--name", spec.name],
      ["--data-dir", join(root, spec.name)],
      ["--listen-client-urls", `http://127.0.0.1:${spec.client}`],
      ["--advertise-client-urls", `http://127.0.0.1:${spec.client}`],
      ["--listen-peer-urls", `http://127.0.0.1:${spec.peer}`],
      ["--initial-advertise-peer-urls", `http://127.0.0.1:${spec.peer}`],
      ["--initial-cluster", initialCluster],
      ["--initial-cluster-state", "new"],
      ["--initial-cluster-token", `hm-${specs[0]?.client ?? 0}`],
      // Fast elections on loopback: a killed Raft leader is replaced within about a second.
      ["--heartbeat-interval", "50"],
      ["--election-timeout", "500"],
      ["--log-level", "warn"],
      extraArgs,
    ].flat();
    return member(binary, spec.name, `http://127.0.0.1:${spec.client}`, args);
  });
  const endpoints = members.map((m) => m.clientUrl);
  const cluster = {
    members,
    endpoints,
    async stop() {
      await Promise.all(members.map((m) => m.kill()));
      rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all(members.map((m) => m.restart()));
    await Promise.all(
      endpoints.map((url) => untilReady(url, () => members.map((m) => m.output()).join("\n"))),
    );
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

function member(binary: string, name: string, clientUrl: string, args: string[]): EtcdMember {
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let output = "";
  return {
    name,
    clientUrl,
    pid: () => child?.pid,
    signal(signal) {
      if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null)
        process.kill(child.pid, signal);
    },
    async kill() {
      if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        process.kill(child.pid, "SIGKILL");
      }
      await exited;
    },
    async restart() {
      const started = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
      child = started;
      started.stdout?.on("data", (chunk) => (output += chunk));
      started.stderr?.on("data", (chunk) => (output += chunk));
      exited = new Promise((resolve) => started.once("exit", () => resolve()));
    },
    output: () => output,
  };
}

async function untilReady(url: string, context: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      // A range is linearizable: it answers only once the member has a Raft leader.
      const signal = AbortSignal.timeout(1000);
      const response = await fetch(`${url}/v3/kv/range`, { method: "POST", body: '{"key":"AA=="}', signal });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`etcd at "${url}" did not become ready in 15 s\n${context()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The member that is currently etcd's Raft leader. */
export async function raftLeader(cluster: EtcdCluster): Promise<EtcdMember> {
  for (const m of cluster.members) {
    try {
      const response = await fetch(`${m.clientUrl}/v3/maintenance/status`, { method: "POST", body: "{}" });
      const status = (await response.json()) as { leader?: string; header?: { member_id?: string } };
      if (status.leader && status.leader === status.header?.member_id) return m;
    } catch {
      // this member is down; ask the next
    }
  }
  throw new Error("No etcd member reports itself as the Raft leader");
}
