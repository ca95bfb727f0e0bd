/**
 * Runs the probes in their real runtimes on loopback, for the edge tests and the pull-round benchmark:
 * the Deno entry in Deno, the Worker (as `wrangler deploy --dry-run` bundles it) in workerd through
 * Miniflare, the Node push probe through the CLI, and a coordinator with in-memory DNS.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { promisify } from "node:util";
import { Hono } from "hono";
import { Miniflare } from "miniflare";
import { type RunningCoordinator, startCoordinator } from "../../coordinator/node.ts";
import { serveLoopback } from "../../demo/origins.ts";
import type { Config } from "../../shared/config-schema.ts";
import { silentLogger } from "../../shared/log.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const BIN = join(ROOT, "node_modules/.bin");

/** A probe running in another runtime, reachable on loopback. */
export interface RuntimeProbe {
  url: string;
  /** Lines the runtime wrote, for failure messages. */
  output: string[];
  close(): Promise<void>;
}

/** What the probe entries read from their environment. */
export interface ProbeEnv {
  id: string;
  secret: string;
  coordinators: string[];
}

/** Bundles the Deno probe into one self-contained file, as `npm run build:deno-probe` does for Deno Deploy. */
export async function bundleDenoProbe(): Promise<{ dir: string; file: string }> {
  const dir = mkdtempSync(join(tmpdir(), "healthmesh-deno-"));
  const file = join(dir, "main.js");
  await promisify(execFile)(
    join(BIN, "deno"),
    ["bundle", "--platform=deno", "--minify", "-o", file, "probes/deno.ts"],
    { cwd: ROOT, env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" } },
  );
  return { dir, file };
}

/**
 * Starts the Deno probe in Deno (with `--unstable-cron`) on 127.0.0.1 and an ephemeral port: the
 * source entry with the repository's deno.json, or a bundle from `bundleDenoProbe()` run in its own
 * directory (so nothing but the bundle is used).
 */
export async function startDenoProbe(
  probe: ProbeEnv,
  options: { backstopAtStart?: boolean; bundle?: string } = {},
): Promise<RuntimeProbe> {
  const child = spawn(
    join(BIN, "deno"),
    ["run", "--allow-net", "--allow-env", "--unstable-cron", options.bundle ?? "probes/deno.ts"],
    {
      cwd: options.bundle ? dirname(options.bundle) : ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? tmpdir(),
        DENO_NO_UPDATE_CHECK: "1",
        NO_COLOR: "1",
        HEALTHMESH_PROBE_ID: probe.id,
        HEALTHMESH_PROBE_SECRET: probe.secret,
        HEALTHMESH_COORDINATORS: probe.coordinators.join(","),
        HEALTHMESH_LISTEN: "127.0.0.1:0",
        ...(options.backstopAtStart ? { HEALTHMESH_BACKSTOP_AT_START: "1" } : {}),
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const output: string[] = [];
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`Deno probe did not start:\n${output.join("")}`)),
      60_000,
    );
    child.stderr?.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    child.stdout?.on("data", (chunk: Buffer) => {
      output.push(chunk.toString());
      const match = output.join("").match(/Listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (match?.[1]) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Deno probe exited with ${code}:\n${output.join("")}`));
    });
  });
  return { url, output, close: () => stopChild(child) };
}

/**
 * Bundles a Worker exactly as `wrangler deploy --dry-run` would upload it (the probe's wrangler.toml
 * by default, or another wrangler config such as the coordinator's); returns the file and its dir.
 */
export async function bundleWorker(wranglerConfig?: string): Promise<{ dir: string; file: string }> {
  const dir = mkdtempSync(join(tmpdir(), "healthmesh-worker-"));
  const args = ["deploy", "--dry-run", "--outdir", dir, ...(wranglerConfig ? ["-c", wranglerConfig] : [])];
  await promisify(execFile)(join(BIN, "wrangler"), args, {
    cwd: ROOT,
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
      NO_COLOR: "1",
    },
  });
  return { dir, file: join(dir, "worker.js") };
}

/** A Worker probe in workerd, with a way to fire its cron trigger. */
export interface WorkerProbe extends RuntimeProbe {
  scheduled(): Promise<string>;
}

/** Runs a bundled Worker probe in workerd (Miniflare) on 127.0.0.1 and an ephemeral port. */
export async function startWorkerProbe(bundle: string, probe: ProbeEnv): Promise<WorkerProbe> {
  const output: string[] = [];
  const mf = new Miniflare({
    modules: true,
    scriptPath: bundle,
    modulesRoot: dirname(bundle),
    compatibilityDate: "2026-04-01",
    host: "127.0.0.1",
    port: 0,
    bindings: {
      HEALTHMESH_PROBE_ID: probe.id,
      HEALTHMESH_PROBE_SECRET: probe.secret,
      HEALTHMESH_COORDINATORS: probe.coordinators.join(","),
    },
    handleRuntimeStdio(stdout: Readable, stderr: Readable) {
      stdout.on("data", (chunk: Buffer) => output.push(chunk.toString()));
      stderr.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    },
  });
  const url = (await mf.ready).toString().replace(/\/$/, "");
  return {
    url,
    output,
    async scheduled() {
      const worker = await mf.getWorker();
      const result = await worker.scheduled({ cron: "* * * * *" });
      return result.outcome;
    },
    close: () => mf.dispose(),
  };
}

/** Starts `healthmesh probe` (the Node push probe of Fly.io and the VPS) as its own process. */
export async function startNodeProbe(probe: ProbeEnv): Promise<RuntimeProbe> {
  const child = spawn(
    process.execPath,
    ["bin/healthmesh.mjs", "probe", "--id", probe.id, "--coordinator", probe.coordinators.join(",")],
    {
      cwd: ROOT,
      env: { ...process.env, HEALTHMESH_PROBE_SECRET: probe.secret },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const output: string[] = [];
  child.stdout?.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  return { url: "", output, close: () => stopChild(child) };
}

/** A loopback front whose target is set later: the coordinator's config needs a probe URL before the probe runs. */
export interface Front {
  url: string;
  target: string | null;
  close(): Promise<void>;
}

/** Starts a front that forwards every request, headers and body intact, to `target`. */
export async function startFront(): Promise<Front> {
  const front = { target: null as string | null }; // set once the probe behind it runs
  const app = new Hono();
  app.all("*", async (c) => {
    if (!front.target)
      return c.json({ error: { code: "no_target", message: "Front has no target yet" } }, 502);
    const url = new URL(c.req.url);
    const body = c.req.method === "GET" ? undefined : await c.req.arrayBuffer();
    const answer = await fetch(`${front.target}${url.pathname}${url.search}`, {
      method: c.req.method,
      headers: withoutHopHeaders(c.req.raw.headers),
      ...(body ? { body } : {}),
    });
    const payload = await answer.arrayBuffer();
    return new Response(payload, { status: answer.status, headers: withoutHopHeaders(answer.headers) });
  });
  const server = await serveLoopback(app);
  return Object.assign(front, server);
}

/** A real coordinator (SQLite in a temp dir, in-memory DNS) on loopback. */
export async function startTestCoordinator(
  config: Config,
  env: Record<string, string>,
): Promise<RunningCoordinator> {
  const dataDir = mkdtempSync(join(tmpdir(), "healthmesh-edges-"));
  const running = await startCoordinator({
    config,
    dataDir,
    host: "127.0.0.1",
    port: 0,
    env,
    log: silentLogger,
  });
  return {
    ...running,
    async close() {
      await running.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A loopback URL where nothing listens: a port that was just bound and released. */
export async function deadUrl(): Promise<string> {
  const server = await serveLoopback(new Hono());
  await server.close();
  return `${server.url}/`;
}

/** A loopback server that accepts every request and never answers it: an edge that hangs. */
export async function startHungServer(): Promise<{ url: string; requests: number; close(): Promise<void> }> {
  const state = { requests: 0 };
  const server = createServer(() => {
    state.requests++;
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

const HOP_HEADERS = [
  "host",
  "connection",
  "keep-alive",
  "content-length",
  "content-encoding",
  "transfer-encoding",
];

function withoutHopHeaders(headers: Headers): Headers {
  const out = new Headers(headers);
  for (const name of HOP_HEADERS) out.delete(name);
  return out;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const force = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.once("exit", () => {
      clearTimeout(force);
      done();
    });
    child.kill("SIGTERM");
  });
}
