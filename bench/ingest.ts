/**
 * Benchmark 2: signed reports per second a coordinator process accepts on one core with durable
 * storage, at 1, 16 and 64 connections, each against a bare node:http handler that does nothing at
 * the same connections, both pinned to CPU 0 while autocannon runs on CPU 1. Every request carries a
 * distinct pre-signed report (report ids are single-use) from one of 64 probes, as a fleet posts;
 * one probe's reports are folded one after another, so concurrency comes from many probes.
 * Then one 10,000-result report against its floor (`ingest-large.ts`).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import type { Report } from "../shared/protocol.ts";
import { signedHeaders } from "../shared/signing.ts";
import { largeReport } from "./ingest-large.ts";
import type { Row } from "./table.ts";

const BIN = new URL("../bin/healthmesh.mjs", import.meta.url).pathname;
const PROBES = Array.from({ length: 64 }, (_, i) => `p${i + 1}`);
const BARE = `require("node:http").createServer((q, s) => { q.resume(); q.on("end", () => { s.writeHead(202); s.end(); }); })
  .listen(0, "127.0.0.1", function () { console.error("listening on http://127.0.0.1:" + this.address().port); });`;

/** Starts `node ARGS` pinned to CPU 0; resolves with its URL once it prints `listening on`. */
export async function pinned(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn("taskset", ["-c", "0", process.execPath, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let output = "";
  return new Promise((resolve, reject) => {
    child.stderr?.on("data", (chunk) => {
      output += chunk;
      const url = /listening on (http:\/\/\S+)/.exec(output)?.[1];
      if (url) resolve({ url, child });
    });
    child.once("exit", () => reject(new Error(`Exited before listening: ${output}`)));
  });
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGINT");
  await exited;
}

/** `count` distinct reports, signed now (the coordinator accepts timestamps within 60 s). */
async function signedPool(count: number): Promise<{ body: string; headers: Record<string, string> }[]> {
  const now = Date.now();
  const at = new Date(now).toISOString();
  const pool = [];
  for (let i = 0; i < count; i++) {
    const probe = PROBES[i % PROBES.length] ?? "p1";
    const report: Report = {
      id: `bench-${now}-${i}`,
      probe,
      sentAt: at,
      healthy: true,
      results: (["primary", "secondary"] as const).map((endpoint) => ({
        service: "web",
        endpoint,
        ok: true,
        status: 200,
        latencyMs: 12,
        checkedAt: at,
      })),
    };
    const body = JSON.stringify(report);
    const headers = await signedHeaders(probe, `bench-secret-${probe}`, body, now);
    pool.push({ body, headers: { ...headers, "content-type": "application/json" } });
  }
  return pool;
}

async function load(
  url: string,
  pool: { body: string; headers: Record<string, string> }[],
  seconds: number,
  connections: number,
) {
  let next = 0;
  return autocannon({
    url: `${url}/v1/reports`,
    connections,
    duration: seconds,
    requests: [
      {
        method: "POST",
        setupRequest: (request) => {
          const item = pool[next++ % pool.length];
          return {
            ...request,
            method: "POST",
            path: "/v1/reports",
            body: item?.body ?? "",
            headers: item?.headers ?? {},
          };
        },
      },
    ],
  });
}

function configYaml(): string {
  return `zone: example.com
providers:
  memory: {}
services:
  - name: web
    router: web-router
    primary: { target: a.example.net., check: { url: "http://127.0.0.1:9/a" } }
    secondary: { target: b.example.net., check: { url: "http://127.0.0.1:9/b" } }
probes:
  interval: 10s
  members:
${PROBES.map((id, i) => `    - { id: ${id}, provider: edge${i}, secretEnv: S_${id.toUpperCase()} }`).join("\n")}
`;
}

/** Accepted reports per second of a coordinator process with its data dir under `root`. */
async function coordinatorRate(
  root: string,
  seconds: number,
  options: { connections: number; profileDir?: string | undefined; bin?: string },
) {
  const dir = mkdtempSync(join(root, "hm-bench-"));
  writeFileSync(join(dir, "healthmesh.yaml"), configYaml());
  const env: Record<string, string> = { HEALTHMESH_API_TOKEN: "bench" };
  for (const id of PROBES) env[`S_${id.toUpperCase()}`] = `bench-secret-${id}`;
  const profile = options.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${options.profileDir}`] : [];
  const config = join(dir, "healthmesh.yaml");
  const coordinator = await pinned(
    [
      ...profile,
      options.bin ?? BIN,
      "coordinator",
      "--config",
      config,
      "--port",
      "0",
      "--data",
      join(dir, "data"),
    ],
    env,
  );
  try {
    await load(coordinator.url, await signedPool(3000), 2, options.connections); // warm-up
    const pool = await signedPool(Math.max(20_000, seconds * 6000));
    const result = await load(coordinator.url, pool, seconds, options.connections);
    return { result, pool: pool.length, rate: result["2xx"] / result.duration };
  } finally {
    await stop(coordinator.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Requests per second of a bare node:http server at `connections`, after a warm-up. */
async function bareRate(seconds: number, connections: number): Promise<{ rate: number }> {
  const bare = await pinned(["-e", BARE]);
  try {
    await load(bare.url, [{ body: "{}", headers: {} }], 2, connections); // warm-up
    const result = await load(bare.url, [{ body: "{}", headers: {} }], seconds, connections);
    return { rate: result["2xx"] / result.duration };
  } finally {
    await stop(bare.child);
  }
}

/** Connection counts of the small-report runs. */
const CONNECTIONS = [1, 16, 64];

/** Runs benchmark 2; `profileDir` also writes a CPU profile of the coordinator (64 connections) there. */
export async function ingest(options: { seconds?: number; profileDir?: string } = {}): Promise<Row[]> {
  const seconds = options.seconds ?? 10;
  execFileSync("taskset", ["-pc", "1", String(process.pid)], { stdio: "ignore" }); // the load generator on CPU 1
  try {
    const rows: Row[] = [];
    let bareAt64 = 0;
    for (const connections of CONNECTIONS) {
      // The bare server runs just before and just after the coordinator: the machine is shared, and a
      // baseline bracketing the figure moves with the load the figure saw.
      const bareBefore = await bareRate(seconds, connections);
      const profileDir = connections === 64 ? options.profileDir : undefined;
      const run = await coordinatorRate(tmpdir(), seconds, { connections, profileDir });
      const bareAfter = await bareRate(seconds, connections);
      const bare = (bareBefore.rate + bareAfter.rate) / 2;
      if (connections === 64) bareAt64 = bare;
      const failed = run.result.non2xx + run.result.errors + run.result.timeouts;
      rows.push({
        bench: "2 report ingest",
        case: `one-result signed reports from ${PROBES.length} probes, ${connections} connection(s), 1 core, SQLite synchronous=FULL on disk`,
        figure: `${run.rate.toFixed(0)} reports/s (p50 ${run.result.latency.p50} ms, p99 ${run.result.latency.p99} ms)`,
        baseline: `${bare.toFixed(0)} req/s bare node:http, ${connections} connection(s) (mean of ${bareBefore.rate.toFixed(0)} before and ${bareAfter.rate.toFixed(0)} after)`,
        ratio: `${((run.rate / bare) * 100).toFixed(1)}%`,
        note: `${run.result["2xx"]} accepted, ${failed} refused or failed, pool ${run.pool}`,
      });
    }
    rows.push(...(await largeReport({ profileDir: options.profileDir })));
    // Another checkout's bin (HEALTHMESH_BENCH_BEFORE=/path/bin/healthmesh.mjs): before and after, one run.
    const before = process.env.HEALTHMESH_BENCH_BEFORE;
    if (before) rows.push(await beforeAndAfter(before, seconds, bareAt64));
    return rows;
  } finally {
    execFileSync("taskset", ["-pc", "0,1", String(process.pid)], { stdio: "ignore" });
  }
}

/** The same ingest on disk with another checkout's coordinator, then this one's again, side by side. */
async function beforeAndAfter(bin: string, seconds: number, bareRate: number): Promise<Row> {
  const then = await coordinatorRate(tmpdir(), seconds, { connections: 64, bin });
  const now = await coordinatorRate(tmpdir(), seconds, { connections: 64 });
  return {
    bench: "2 report ingest",
    case: `signed reports on disk, 64 connections: this checkout against ${bin}`,
    figure: `${now.rate.toFixed(0)} reports/s against ${then.rate.toFixed(0)} reports/s`,
    baseline: `${bareRate.toFixed(0)} req/s bare node:http`,
    ratio: `${((now.rate / then.rate) * 100).toFixed(1)}%`,
    note: `${((now.rate / bareRate) * 100).toFixed(1)}% against ${((then.rate / bareRate) * 100).toFixed(1)}% of bare`,
  };
}
