/**
 * Runs the coordinator Worker in workerd for the tests: bundled as `wrangler deploy --dry-run`
 * uploads it, served by Miniflare on loopback with its SQLite-backed Durable Object persisted to a dir.
 */
import { dirname } from "node:path";
import type { Readable } from "node:stream";
import { Miniflare } from "miniflare";
import type { Report } from "../../shared/protocol.ts";
import { signedHeaders } from "../../shared/signing.ts";
import { bundleWorker } from "./runtimes.ts";

/** Bundles coordinator/worker.ts with wrangler.coordinator.toml into a new temp dir; returns the dir and file. */
export function bundleCoordinatorWorker(): Promise<{ dir: string; file: string }> {
  return bundleWorker("wrangler.coordinator.toml");
}

/** A coordinator Worker running in workerd. */
export interface CoordinatorWorker {
  url: string;
  /** Fires the Worker's cron trigger; resolves with its outcome once its `waitUntil` work is done. */
  scheduled(): Promise<string>;
  close(): Promise<void>;
}

/** Runs the bundle in workerd on 127.0.0.1 (`port`, default any); the same `persistDir` is the same Durable Object storage. */
export async function startCoordinatorWorker(
  bundle: string,
  options: { persistDir: string; bindings: Record<string, string>; output: string[]; port?: number },
): Promise<CoordinatorWorker> {
  const mf = new Miniflare({
    modules: true,
    scriptPath: bundle,
    modulesRoot: dirname(bundle),
    compatibilityDate: "2026-04-01",
    host: "127.0.0.1",
    port: options.port ?? 0,
    durableObjects: { COORDINATOR: { className: "DurableCoordinator", useSQLite: true } },
    durableObjectsPersist: options.persistDir,
    bindings: options.bindings,
    handleRuntimeStdio(stdout: Readable, stderr: Readable) {
      stdout.on("data", (chunk: Buffer) => options.output.push(chunk.toString()));
      stderr.on("data", (chunk: Buffer) => options.output.push(chunk.toString()));
    },
  });
  const url = (await mf.ready).toString().replace(/\/$/, "");
  return {
    url,
    async scheduled() {
      const worker = await mf.getWorker();
      return (await worker.scheduled({ cron: "* * * * *" })).outcome;
    },
    close: () => mf.dispose(),
  };
}

/** POSTs a report signed now (a replay gets a fresh signature: only its id is old). */
export async function pushReport(url: string, report: Report, secret: string): Promise<Response> {
  const text = JSON.stringify(report);
  const headers = await signedHeaders(report.probe, secret, text, Date.now());
  return fetch(`${url}/v1/reports`, {
    method: "POST",
    body: text,
    headers: { ...headers, "content-type": "application/json" },
  });
}

/** Polls every 100 ms until `check` holds (the Worker runs on real time), failing with the last value. */
export async function until<T>(
  read: () => Promise<T>,
  check: (value: T) => boolean,
  options: { timeoutMs?: number; output?: readonly string[] } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  let last = await read();
  while (!check(last)) {
    if (Date.now() > deadline)
      throw new Error(
        `Condition not met; last value ${JSON.stringify(last)}\n${options.output?.join("") ?? ""}`,
      );
    await new Promise((r) => setTimeout(r, 100));
    last = await read();
  }
  return last;
}
