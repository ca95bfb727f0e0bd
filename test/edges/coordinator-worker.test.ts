/**
 * The coordinator Worker (coordinator/worker.ts, bundled as `wrangler deploy --dry-run` uploads it)
 * running in workerd through Miniflare, with its SQLite-backed Durable Object persisted to a temp dir,
 * switching the Cloudflare and deSEC stand-ins that run in this process on loopback.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { promisify } from "node:util";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import type { Report } from "../../shared/protocol.ts";
import { signedHeaders } from "../../shared/signing.ts";
import { type RunningCloudflareStandin, startCloudflareStandin } from "../../standins/cloudflare.ts";
import { type RunningDesecStandin, startDesecStandin } from "../../standins/desec.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const ZONE = "example.com";
const TOKEN = "worker-operator-token";
const CF_TOKEN = "cf-token-0123456789";
const DESEC_TOKEN = "desec-token-0123456789";
const PROBES = ["p1", "p2", "p3"];
const secretOf = (id: string) => `secret-of-${id}`;
const PRIMARY = "web-cf.example.net.";
const SECONDARY = "web-cdn2.example.net.";

let cf: RunningCloudflareStandin;
let desec: RunningDesecStandin;
let bundleDir: string;
let persistDir: string;
const tempDirs: string[] = [];
const output: string[] = [];

async function bundleCoordinatorWorker(): Promise<string> {
  bundleDir = mkdtempSync(join(tmpdir(), "healthmesh-coordinator-worker-"));
  await promisify(execFile)(
    join(ROOT, "node_modules/.bin/wrangler"),
    ["deploy", "--dry-run", "--outdir", bundleDir, "-c", "wrangler.coordinator.toml"],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: "false",
        CLOUDFLARE_CF_FETCH_ENABLED: "false",
        NO_COLOR: "1",
      },
    },
  );
  return join(bundleDir, "worker.js");
}

function configYaml(): string {
  return stringify({
    zone: ZONE,
    providers: {
      cloudflare: { tokenEnv: "CF_TOKEN", apiBase: cf.apiBase },
      desec: { tokenEnv: "DESEC_TOKEN", apiBase: desec.apiBase },
    },
    services: [
      {
        name: "web",
        router: "web-router",
        ttl: 60,
        desec: { ttl: 3600 },
        primary: { target: PRIMARY, check: { url: "https://web-cf.example.net/healthz" } },
        secondary: { target: SECONDARY, check: { url: "https://web-cdn2.example.net/healthz" } },
        failAfter: 1,
        recoverAfter: 1,
        holdDown: "0s",
      },
    ],
    // A short interval so the alarm-driven rounds are seen within the test.
    probes: {
      interval: "1s",
      members: PROBES.map((id) => ({ id, provider: `edge-${id}`, secretEnv: `SECRET_${id.toUpperCase()}` })),
    },
  });
}

/** Runs the bundled coordinator in workerd; the same `persistDir` is the same Durable Object storage. */
async function startWorker(bundle: string, bindings: Record<string, string>) {
  const mf = new Miniflare({
    modules: true,
    scriptPath: bundle,
    modulesRoot: dirname(bundle),
    compatibilityDate: "2026-04-01",
    host: "127.0.0.1",
    port: 0,
    durableObjects: { COORDINATOR: { className: "DurableCoordinator", useSQLite: true } },
    durableObjectsPersist: persistDir,
    bindings,
    handleRuntimeStdio(stdout: Readable, stderr: Readable) {
      stdout.on("data", (chunk: Buffer) => output.push(chunk.toString()));
      stderr.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    },
  });
  const url = (await mf.ready).toString().replace(/\/$/, "");
  return { mf, url };
}

function freshPersistDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "healthmesh-coordinator-do-"));
  tempDirs.push(dir);
  return dir;
}

function fullBindings(): Record<string, string> {
  return {
    HEALTHMESH_CONFIG: configYaml(),
    HEALTHMESH_API_TOKEN: TOKEN,
    CF_TOKEN,
    DESEC_TOKEN,
    ...Object.fromEntries(PROBES.map((id) => [`SECRET_${id.toUpperCase()}`, secretOf(id)])),
  };
}

function report(probe: string, primaryOk: boolean): Report {
  const at = new Date().toISOString();
  return {
    id: crypto.randomUUID(),
    probe,
    sentAt: at,
    healthy: true,
    results: [
      {
        service: "web",
        endpoint: "primary",
        ok: primaryOk,
        checkedAt: at,
        ...(primaryOk ? {} : { status: 503 }),
      },
      { service: "web", endpoint: "secondary", ok: true, status: 200, checkedAt: at },
    ],
  };
}

/** POSTs a report signed now (a replay gets a fresh signature: only its id is old). */
async function push(url: string, body: Report): Promise<Response> {
  const text = JSON.stringify(body);
  const headers = await signedHeaders(body.probe, secretOf(body.probe), text, Date.now());
  return fetch(`${url}/v1/reports`, {
    method: "POST",
    body: text,
    headers: { ...headers, "content-type": "application/json" },
  });
}

const auth = { authorization: `Bearer ${TOKEN}` };

interface Status {
  services: {
    name: string;
    active: string;
    mode: string;
    primary: { verdict: string };
    dns: Record<string, { state: string; target: string | null }>;
  }[];
}

interface Events {
  events: { type: string; service?: string; from?: string; to?: string; votes?: unknown; message: string }[];
}

async function getJson<T>(url: string): Promise<T> {
  const answer = await fetch(url, { headers: auth });
  if (answer.status !== 200) throw new Error(`GET ${url} answered ${answer.status}: ${await answer.text()}`);
  return (await answer.json()) as T; // the coordinator's documented answer shape (CONTRACT §6)
}

/** Polls until `check` holds (real time: the Worker runs on its own clock), failing with the last value. */
async function until<T>(
  read: () => Promise<T>,
  check: (value: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (!check(last)) {
    if (Date.now() > deadline)
      throw new Error(`Condition not met; last value ${JSON.stringify(last)}\n${output.join("")}`);
    await new Promise((r) => setTimeout(r, 100));
    last = await read();
  }
  return last;
}

const servesBoth = (target: string) => (status: Status) => {
  const dns = status.services[0]?.dns;
  return (
    dns?.cloudflare?.state === "in-sync" &&
    dns.cloudflare.target === target &&
    dns.desec?.state === "in-sync" &&
    dns.desec.target === target
  );
};

function cloudflareRouter(): string | undefined {
  return [...cf.standin.records(ZONE).values()].find((r) => r.name === `web-router.${ZONE}`)?.content;
}

beforeAll(async () => {
  cf = await startCloudflareStandin({ tokens: [CF_TOKEN], zones: [{ name: ZONE }] });
  desec = await startDesecStandin({ tokens: [DESEC_TOKEN], domains: [{ name: ZONE, minimumTtl: 3600 }] });
  persistDir = freshPersistDir();
}, 30_000);

afterAll(async () => {
  await cf?.close();
  await desec?.close();
  if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe("the coordinator Worker running in workerd", () => {
  it("fails over on both stand-ins by majority, refuses a replay before and after a restart, and keeps the decision", async () => {
    const bundle = await bundleCoordinatorWorker();
    let worker = await startWorker(bundle, fullBindings());
    try {
      expect(await (await fetch(`${worker.url}/healthz`)).json()).toEqual({ ok: true });
      await until(() => getJson<Status>(`${worker.url}/v1/status`), servesBoth(PRIMARY));
      expect(cloudflareRouter()).toBe(PRIMARY.slice(0, -1));

      const first = report("p1", false);
      expect((await push(worker.url, first)).status).toBe(202);
      expect((await getJson<Status>(`${worker.url}/v1/status`)).services[0]?.active).toBe("primary");
      expect((await push(worker.url, report("p2", false))).status).toBe(202);

      const switched = await until(() => getJson<Status>(`${worker.url}/v1/status`), servesBoth(SECONDARY));
      expect(switched.services[0]?.active).toBe("secondary");
      expect(cloudflareRouter()).toBe(SECONDARY.slice(0, -1));
      const rrset = desec.standin.rrsets(ZONE).get("web-router/CNAME");
      expect(rrset?.records).toEqual([SECONDARY]);
      expect(rrset?.ttl).toBe(3600);

      expect((await fetch(`${worker.url}/v1/status`)).status).toBe(401);
      const { events } = await getJson<Events>(`${worker.url}/v1/events`);
      const failover = events.find((e) => e.type === "failover");
      expect(failover).toMatchObject({ service: "web", from: "primary", to: "secondary" });
      expect(failover?.votes).toMatchObject({ primary: { down: 2 } });

      const replay = await push(worker.url, first);
      expect(replay.status).toBe(401);
      expect(await replay.json()).toMatchObject({ error: { code: "replayed" } });

      // No request runs a round: only the Durable Object's alarm can notice that p3 never reported.
      await until(
        () => getJson<Events>(`${worker.url}/v1/events`),
        (e) => e.events.some((event) => event.type === "probe.silent" && event.message.includes('"p3"')),
      );

      await worker.mf.dispose();
      worker = await startWorker(bundle, fullBindings());
      const again = await push(worker.url, first);
      expect(again.status).toBe(401);
      expect(await again.json()).toMatchObject({ error: { code: "replayed" } });
      const restarted = await until(() => getJson<Status>(`${worker.url}/v1/status`), servesBoth(SECONDARY));
      expect(restarted.services[0]).toMatchObject({ active: "secondary", mode: "auto" });
      const after = await getJson<Events>(`${worker.url}/v1/events`);
      expect(after.events.filter((e) => e.type === "coordinator.started").length).toBe(2);
      expect(after.events.filter((e) => e.type === "failover").length).toBe(1);
    } finally {
      await worker.mf.dispose();
    }
  }, 90_000);

  it("answers 500 naming the missing secret when a probe secret is not set", async () => {
    const bundle = join(bundleDir, "worker.js");
    const { SECRET_P3: _, ...bindings } = fullBindings();
    persistDir = freshPersistDir();
    const worker = await startWorker(bundle, bindings);
    try {
      const answer = await fetch(`${worker.url}/healthz`);
      expect(answer.status).toBe(500);
      const body = await answer.json();
      expect(body).toMatchObject({ error: { code: "coordinator_misconfigured" } });
      expect(JSON.stringify(body)).toContain("SECRET_P3");
    } finally {
      await worker.mf.dispose();
    }
  }, 30_000);
});
