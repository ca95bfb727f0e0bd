/**
 * Scale (issue 14): a real coordinator process (SQLite data dir, in-memory DNS provider, pinned to
 * CPU 0) under simulated push probes in this process (CPU 1). Each probe sends every service's
 * primary and secondary results once per interval at its own random phase, in the project's own
 * report format: `splitReport` parts under the body limit, each signed (`signReport`), posted in order.
 * Per size: the coordinator's CPU (utime + stime from /proc) idle and in steady state, memory (RSS and
 * heap used after a full GC, asked through a preload on SIGUSR2), the tipping report to the committed
 * failover, the per-vote cost, reads of `/metrics` and `/v1/status`, and the CPU of a bare node:http
 * server that reads and parses the same traffic. `BENCH_PROFILE=DIR` also writes the coordinator's CPU
 * profile there (`npx tsx bench/profile-top.ts DIR/CPU.*.cpuprofile`).
 */
import { type ChildProcess, execFileSync, execSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { signReport, splitReport } from "../probes/report.ts";
import type { CheckResult, Report } from "../shared/protocol.ts";
import { median, ms, type Row } from "./table.ts";

const BIN = new URL("../bin/healthmesh.mjs", import.meta.url).pathname;
const TOKEN = "bench-scale";
const TIP = "s0";
const FAIL_AFTER = 3;
const MIB = 1024 * 1024;

/** Options of the scale benchmark; the windows are counted in intervals. */
export interface ScaleOptions {
  sizes?: readonly { services: number; probes: number }[];
  intervalMs?: number;
  idleIntervals?: number;
  warmIntervals?: number;
  measureIntervals?: number;
  bareIntervals?: number;
}

const PRELOAD = `process.on("SIGUSR2", () => {
  const before = process.memoryUsage();
  globalThis.gc?.();
  const after = process.memoryUsage();
  process.stderr.write("HM_MEMORY " + JSON.stringify({ before, after }) + "\\n");
});
`;

const BARE = `require("node:http").createServer((q, s) => {
  const chunks = []; q.on("data", (c) => chunks.push(c));
  q.on("end", () => { JSON.parse(Buffer.concat(chunks).toString("utf8")); s.writeHead(202); s.end(); });
}).listen(0, "127.0.0.1", function () { console.error("listening on http://127.0.0.1:" + this.address().port); });`;

const TICKS = Number(execSync("getconf CLK_TCK").toString().trim()) || 100;

/** CPU seconds (user + system, every thread) a process has used so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS; // utime, stime (fields 14 and 15)
}

function statusKb(pid: number, key: string): number {
  const line = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(line?.[1] ?? 0) * 1024;
}

const sleep = (msec: number) => new Promise<void>((resolve) => setTimeout(resolve, msec));

/** A child node pinned to CPU 0 with its stderr watched. */
interface Pinned {
  url: string;
  child: ChildProcess;
  pid: number;
  lines: (prefix: string) => Promise<string>;
}

async function pinned(args: string[], env: Record<string, string> = {}): Promise<Pinned> {
  const child = spawn("taskset", ["-c", "0", process.execPath, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let output = "";
  const waiting: { prefix: string; resolve: (line: string) => void }[] = [];
  return new Promise((resolve, reject) => {
    child.stderr?.on("data", (chunk) => {
      output += chunk;
      for (;;) {
        const newline = output.indexOf("\n");
        if (newline < 0) break;
        const line = output.slice(0, newline);
        output = output.slice(newline + 1);
        const url = /listening on (http:\/\/\S+)/.exec(line)?.[1];
        if (url)
          resolve({
            url,
            child,
            pid: child.pid ?? 0,
            lines: (prefix) => new Promise((done) => waiting.push({ prefix, resolve: done })),
          });
        const index = waiting.findIndex((w) => line.startsWith(w.prefix));
        if (index >= 0) waiting.splice(index, 1)[0]?.resolve(line);
      }
    });
    child.once("exit", () => reject(new Error(`Exited before listening: ${output}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGINT");
  await exited;
}

function probeIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `p${i + 1}`);
}

const secretOf = (probe: string) => `bench-scale-secret-${probe}`;

/** The config: `services` services, `probes` push probes, the in-memory DNS provider (no network). */
function config(services: number, probes: readonly string[], intervalMs: number): string {
  return JSON.stringify({
    zone: "example.com",
    providers: { memory: {} },
    services: Array.from({ length: services }, (_, i) => ({
      name: `s${i}`,
      router: `r${i}`,
      failAfter: FAIL_AFTER,
      primary: { target: `a${i}.example.net.`, check: { url: `http://127.0.0.1:9/a${i}` } },
      secondary: { target: `b${i}.example.net.`, check: { url: `http://127.0.0.1:9/b${i}` } },
    })),
    probes: {
      interval: `${intervalMs}ms`,
      confirmInterval: "0s",
      members: probes.map((id, i) => ({ id, provider: `edge${i}`, secretEnv: `S_${id.toUpperCase()}` })),
    },
  });
}

/** One probe's round: every service's primary and secondary result, checked now. */
function round(probe: string, services: number, skip: string | null, down: boolean): Report {
  const at = new Date().toISOString();
  const results: CheckResult[] = [];
  for (let i = 0; i < services; i++) {
    const service = `s${i}`;
    if (service === skip) continue;
    const primaryOk = !(down && service === TIP);
    results.push(
      primaryOk
        ? { service, endpoint: "primary", ok: true, status: 200, latencyMs: 12, checkedAt: at }
        : { service, endpoint: "primary", ok: false, status: 503, latencyMs: 12, checkedAt: at },
      { service, endpoint: "secondary", ok: true, status: 200, latencyMs: 14, checkedAt: at },
    );
  }
  return { id: crypto.randomUUID(), probe, sentAt: at, healthy: true, results };
}

/** What the simulated probes sent, and how it went. */
interface LoadStats {
  parts: number;
  bytes: number;
  statuses: Map<number, number>;
  partMs: number[];
  lateRounds: number;
  rounds: number;
}

/** Simulated probes: each sends a round every interval at its own random phase until stopped. */
class Load {
  readonly stats: LoadStats = {
    parts: 0,
    bytes: 0,
    statuses: new Map(),
    partMs: [],
    lateRounds: 0,
    rounds: 0,
  };
  /** While set, rounds leave this service out (the tipping reports own it). */
  skip: string | null = null;
  #stopped = false;
  readonly #loops: Promise<void>[] = [];

  constructor(
    readonly url: string,
    readonly probes: readonly string[],
    readonly services: number,
    readonly intervalMs: number,
  ) {
    for (const probe of probes) this.#loops.push(this.#loop(probe));
  }

  reset(): void {
    Object.assign(this.stats, {
      parts: 0,
      bytes: 0,
      statuses: new Map(),
      partMs: [],
      lateRounds: 0,
      rounds: 0,
    });
  }

  async #loop(probe: string): Promise<void> {
    let next = performance.now() + Math.random() * this.intervalMs;
    while (!this.#stopped) {
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
      else if (this.stats.rounds > 0) this.stats.lateRounds++;
      if (this.#stopped) return;
      next += this.intervalMs;
      const report = round(probe, this.services, this.skip, false);
      const parts = await Promise.all(
        splitReport(report).map((p) => signReport(p, secretOf(probe), Date.now())),
      );
      for (const part of parts) {
        if (this.#stopped) return;
        const t0 = performance.now();
        const status = await post(this.url, part).catch(() => 0);
        this.stats.partMs.push(performance.now() - t0);
        this.stats.parts++;
        this.stats.bytes += part.body.length;
        this.stats.statuses.set(status, (this.stats.statuses.get(status) ?? 0) + 1);
      }
      this.stats.rounds++;
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#loops);
  }
}

async function post(url: string, part: { body: string; headers: Record<string, string> }): Promise<number> {
  const response = await fetch(`${url}/v1/reports`, {
    method: "POST",
    body: part.body,
    headers: part.headers,
  });
  await response.arrayBuffer();
  return response.status;
}

async function get(
  url: string,
  path: string,
): Promise<{ ms: number; bytes: number; status: number; body: string }> {
  const t0 = performance.now();
  const response = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const body = await response.text();
  return { ms: performance.now() - t0, bytes: Buffer.byteLength(body), status: response.status, body };
}

/** Heap used after a full GC, and RSS, through the preload's SIGUSR2 handler. */
async function memory(coordinator: Pinned): Promise<{ heapUsed: number; rss: number; external: number }> {
  const line = coordinator.lines("HM_MEMORY ");
  coordinator.child.kill("SIGUSR2");
  const { after } = JSON.parse((await line).slice("HM_MEMORY ".length));
  return { heapUsed: after.heapUsed, rss: after.rss, external: after.external + after.arrayBuffers };
}

/** CPU of `pid` over `msec`, as a fraction of one core. */
async function cpuOver(pid: number, msec: number): Promise<number> {
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  await sleep(msec);
  return (cpuSeconds(pid) - c0) / ((performance.now() - t0) / 1000);
}

/**
 * The tipping report: a majority of probes report the tip service's primary down `failAfter` times
 * in small reports of their own; the last of them tips the quorum. Times its 202 and the failover
 * event's arrival in `/v1/events` (polled), and the event's own timestamp against the send.
 */
async function tipping(url: string, probes: readonly string[], load: Load) {
  load.skip = TIP;
  const newest = JSON.parse((await get(url, "/v1/events?limit=1")).body) as { events: { id: number }[] };
  const after = newest.events.at(-1)?.id ?? 0;
  const majority = Math.floor(probes.length / 2) + 1;
  const send = async (probe: string) => {
    await sleep(2); // a distinct checkedAt for every report
    const report = round(probe, 0, null, true);
    const at = new Date().toISOString();
    report.results = [
      { service: TIP, endpoint: "primary", ok: false, status: 503, latencyMs: 12, checkedAt: at },
      { service: TIP, endpoint: "secondary", ok: true, status: 200, latencyMs: 14, checkedAt: at },
    ];
    report.sentAt = at;
    return signReport(report, secretOf(probe), Date.now());
  };
  for (const probe of probes.slice(0, majority - 1))
    for (let i = 0; i < FAIL_AFTER; i++) await post(url, await send(probe));
  const last = probes[majority - 1] ?? "p1";
  for (let i = 0; i < FAIL_AFTER - 1; i++) await post(url, await send(last));
  const tip = await send(last);
  const sentWall = Date.now();
  const t0 = performance.now();
  const status = await post(url, tip);
  const acceptedMs = performance.now() - t0;
  for (;;) {
    const page = JSON.parse((await get(url, `/v1/events?after=${after}&limit=1000`)).body) as {
      events: { type: string; service?: string; at: string }[];
    };
    const failover = page.events.find((e) => e.type === "failover" && e.service === TIP);
    if (failover) {
      const visibleMs = performance.now() - t0;
      load.skip = null;
      return { status, acceptedMs, visibleMs, stampMs: Date.parse(failover.at) - sentWall };
    }
    if (performance.now() - t0 > 30_000) throw new Error("No failover within 30 s of the tipping report");
  }
}

/** The bare server's CPU under the same traffic: the floor of receiving and parsing it. */
async function bareFloor(services: number, probes: readonly string[], intervalMs: number, intervals: number) {
  const bare = await pinned(["-e", BARE]);
  const load = new Load(bare.url, probes, services, intervalMs);
  try {
    await sleep(intervalMs);
    return await cpuOver(bare.pid, intervalMs * intervals);
  } finally {
    await load.stop();
    await stop(bare.child);
  }
}

async function size(services: number, probeCount: number, o: Required<ScaleOptions>): Promise<Row[]> {
  const probes = probeIds(probeCount);
  const intervalMs = o.intervalMs;
  const dir = mkdtempSync(join(tmpdir(), "hm-scale-"));
  const file = join(dir, "healthmesh.yaml");
  writeFileSync(file, config(services, probes, intervalMs));
  writeFileSync(join(dir, "preload.cjs"), PRELOAD);
  const env: Record<string, string> = { HEALTHMESH_API_TOKEN: TOKEN };
  for (const id of probes) env[`S_${id.toUpperCase()}`] = secretOf(id);
  const label = `${services.toLocaleString("en")} × ${probeCount}`;
  const t0 = performance.now();
  const coordinator = await pinned(
    [
      "--expose-gc",
      ...(process.env.BENCH_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : []),
      "--require",
      join(dir, "preload.cjs"),
      BIN,
      "coordinator",
      "--config",
      file,
      "--port",
      "0",
      "--data",
      join(dir, "data"),
    ],
    env,
  );
  const startMs = performance.now() - t0;
  let load: Load | null = null;
  try {
    // Start-up goes on past `listening` (the first DNS writes for every router): wait for it to end.
    for (let i = 0; i < 60 && (await cpuOver(coordinator.pid, 1000)) > 0.05; i++);
    const settledMs = performance.now() - t0;
    const idle = await cpuOver(coordinator.pid, intervalMs * o.idleIntervals);
    const idleMemory = await memory(coordinator);
    load = new Load(coordinator.url, probes, services, intervalMs);
    await sleep(intervalMs * o.warmIntervals);
    load.reset();
    const steady = await cpuOver(coordinator.pid, intervalMs * o.measureIntervals);
    const stats = { ...load.stats, partMs: [...load.stats.partMs], statuses: new Map(load.stats.statuses) };
    const rssBeforeGc = statusKb(coordinator.pid, "VmRSS");
    const held = await memory(coordinator);
    const peak = statusKb(coordinator.pid, "VmHWM");
    const tip = await tipping(coordinator.url, probes, load);
    const metrics = await get(coordinator.url, "/metrics");
    const page = await get(coordinator.url, "/v1/status?limit=50");
    const full = await get(coordinator.url, "/v1/status");
    await load.stop();
    load = null;
    const bare = o.bareIntervals > 0 ? await bareFloor(services, probes, intervalMs, o.bareIntervals) : null;

    const votes = services * probeCount; // per interval: one probe's primary + secondary result for one service
    const cpuPerInterval = steady * intervalMs; // ms of CPU per interval
    const pct = (f: number) => `${(f * 100).toFixed(1)}%`;
    const statuses = [...stats.statuses].map(([s, n]) => `${n}×${s || "error"}`).join(", ");
    const partsPerRound = Math.ceil(stats.parts / Math.max(1, stats.rounds));
    const loadNow = loadavg()
      .map((n) => n.toFixed(2))
      .join(" ");
    const bench = "scale";
    return [
      {
        bench,
        case: `${label}, interval ${intervalMs / 1000} s: steady CPU of one core`,
        figure: pct(steady),
        baseline: `${pct(idle)} idle (same process, no reports)${bare === null ? "" : `; ${pct(bare)} bare node:http reading + parsing the same parts`}`,
        ratio:
          bare === null
            ? `${(steady / Math.max(idle, 1e-4)).toFixed(1)}× idle`
            : `${(steady / Math.max(bare, 1e-4)).toFixed(1)}× bare`,
        note: `target ≤ 5%; ${stats.rounds} rounds of ${partsPerRound} part(s) (${(stats.bytes / MIB).toFixed(1)} MiB) in the window: ${statuses}; part p50 ${ms(median(stats.partMs))}, max ${ms(Math.max(0, ...stats.partMs))}; ${stats.lateRounds} late rounds; load ${loadNow}`,
      },
      {
        bench,
        case: `${label}: per-vote cost`,
        figure: `${((cpuPerInterval * 1000) / votes).toFixed(2)} µs CPU per service × probe`,
        baseline: `${votes.toLocaleString("en")} service × probe pairs (2 results each) per interval`,
        ratio: `${cpuPerInterval.toFixed(0)} ms CPU per ${intervalMs / 1000} s`,
        note: bare === null ? "" : `bare: ${(((bare * intervalMs) / votes) * 1000).toFixed(2)} µs per pair`,
      },
      {
        bench,
        case: `${label}: memory held`,
        figure: `${(held.heapUsed / MIB).toFixed(0)} MiB heap after GC, ${(rssBeforeGc / MIB).toFixed(0)} MiB RSS`,
        baseline: `${(idleMemory.heapUsed / MIB).toFixed(0)} MiB heap, ${(idleMemory.rss / MIB).toFixed(0)} MiB RSS before any report`,
        ratio: `${((held.heapUsed - idleMemory.heapUsed) / (services * probeCount * 2)).toFixed(0)} B heap per track`,
        note: `target ≤ 100 MiB; peak RSS ${(peak / MIB).toFixed(0)} MiB; external + array buffers ${(held.external / MIB).toFixed(0)} MiB; listening after ${ms(startMs)}, start-up work done after ${ms(settledMs)}`,
      },
      {
        bench,
        case: `${label}: tipping report → failover committed`,
        figure: `${ms(tip.visibleMs)} to the event in /v1/events`,
        baseline: `${ms(tip.acceptedMs)} to its ${tip.status}`,
        ratio: `event stamped ${tip.stampMs} ms after the send`,
        note: "target ≤ 5 ms; under the steady load; the poll of /v1/events is in the figure",
      },
      {
        bench,
        case: `${label}: reads under load`,
        figure: `/v1/status?limit=50 ${ms(page.ms)}, ${(page.bytes / 1024).toFixed(0)} KiB`,
        baseline: `/v1/status (all) ${ms(full.ms)}, ${(full.bytes / MIB).toFixed(1)} MiB`,
        ratio: `/metrics ${ms(metrics.ms)}, ${(metrics.bytes / MIB).toFixed(1)} MiB`,
        note: `statuses ${page.status}, ${full.status}, ${metrics.status}`,
      },
    ];
  } finally {
    await load?.stop();
    await stop(coordinator.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the scale benchmark at each size in turn. */
export async function scale(options: ScaleOptions = {}): Promise<Row[]> {
  const o: Required<ScaleOptions> = {
    sizes: [
      { services: 100, probes: 5 },
      { services: 1000, probes: 9 },
      { services: 10_000, probes: 12 },
    ],
    intervalMs: 10_000,
    idleIntervals: 1,
    warmIntervals: 2,
    measureIntervals: 3,
    bareIntervals: 2,
    ...options,
  };
  execFileSync("taskset", ["-pc", "1", String(process.pid)], { stdio: "ignore" }); // the probes on CPU 1
  try {
    const rows: Row[] = [];
    for (const { services, probes } of o.sizes) {
      console.error(`bench: scale ${services} × ${probes}…`);
      rows.push(...(await size(services, probes, o)));
    }
    return rows;
  } finally {
    execFileSync("taskset", ["-pc", "0,1", String(process.pid)], { stdio: "ignore" });
  }
}
