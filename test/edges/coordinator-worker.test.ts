/**
 * The coordinator Worker (coordinator/worker.ts, bundled as `wrangler deploy --dry-run` uploads it)
 * running in workerd through Miniflare, with its SQLite-backed Durable Object persisted to a temp dir,
 * switching the Cloudflare and deSEC stand-ins that run in this process on loopback.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import {
  type Loopback,
  type Origin,
  type Sink,
  serveLoopback,
  startOrigin,
  startSink,
} from "../../demo/origins.ts";
import { createPullProbe } from "../../probes/pull.ts";
import { systemClock } from "../../shared/clock.ts";
import { silentLogger } from "../../shared/log.ts";
import type { Report } from "../../shared/protocol.ts";
import { type RunningCloudflareStandin, startCloudflareStandin } from "../../standins/cloudflare.ts";
import { type RunningDesecStandin, startDesecStandin } from "../../standins/desec.ts";
import {
  bundleCoordinatorWorker,
  type CoordinatorWorker,
  pushReport,
  startCoordinatorWorker,
  until,
} from "./coordinator-worker-runtime.ts";

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
let origins: { primary: Origin; secondary: Origin };
let sink: Sink;
let pullProbe: Loopback;
let bundle: { dir: string; file: string };
const tempDirs: string[] = [];
const output: string[] = [];

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
        primary: { target: PRIMARY, check: { url: `${origins.primary.url}/healthz`, timeout: "1s" } },
        secondary: { target: SECONDARY, check: { url: `${origins.secondary.url}/healthz`, timeout: "1s" } },
        failAfter: 1,
        recoverAfter: 1,
        holdDown: "0s",
      },
    ],
    // A short interval so the alarm-driven rounds are seen within the test.
    probes: {
      interval: "1s",
      members: PROBES.map((id) => ({
        id,
        provider: `edge-${id}`,
        secretEnv: `SECRET_${id.toUpperCase()}`,
        // p3 is pulled by the coordinator's alarm; p1 and p2 push.
        ...(id === "p3" ? { mode: "pull", url: pullProbe.url } : {}),
      })),
    },
    alerts: [{ type: "webhook", urlEnv: "ALERT_WEBHOOK_URL", events: ["failover"], groupWait: "0s" }],
  });
}

function fullBindings(): Record<string, string> {
  return {
    HEALTHMESH_CONFIG: configYaml(),
    HEALTHMESH_API_TOKEN: TOKEN,
    CF_TOKEN,
    DESEC_TOKEN,
    ALERT_WEBHOOK_URL: `${sink.url}/alerts`,
    ...Object.fromEntries(PROBES.map((id) => [`SECRET_${id.toUpperCase()}`, secretOf(id)])),
  };
}

function startWorker(persistDir: string, bindings = fullBindings()): Promise<CoordinatorWorker> {
  return startCoordinatorWorker(bundle.file, { persistDir, bindings, output });
}

function freshPersistDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "healthmesh-coordinator-do-"));
  tempDirs.push(dir);
  return dir;
}

function primaryDown(probe: string): Report {
  const at = new Date().toISOString();
  return {
    id: crypto.randomUUID(),
    probe,
    sentAt: at,
    healthy: true,
    results: [
      { service: "web", endpoint: "primary", ok: false, status: 503, checkedAt: at },
      { service: "web", endpoint: "secondary", ok: true, status: 200, checkedAt: at },
    ],
  };
}

const push = (url: string, report: Report) => pushReport(url, report, secretOf(report.probe));

interface Status {
  services: {
    active: string;
    mode: string;
    primary: { votes: { up: number; down: number; abstain: number } };
    dns: Record<string, { state: string; target: string | null }>;
  }[];
}

interface Events {
  events: {
    type: string;
    service?: string;
    from?: string;
    to?: string;
    votes?: unknown;
    message: string;
    at: string;
  }[];
}

async function getJson<T>(url: string): Promise<T> {
  const answer = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
  if (answer.status !== 200) throw new Error(`GET ${url} answered ${answer.status}: ${await answer.text()}`);
  return (await answer.json()) as T; // the coordinator's documented answer shape (CONTRACT §6)
}

const status = (worker: CoordinatorWorker) => () => getJson<Status>(`${worker.url}/v1/status`);
const events = (worker: CoordinatorWorker) => () => getJson<Events>(`${worker.url}/v1/events`);

const servesBoth = (target: string) => (s: Status) => {
  const dns = s.services[0]?.dns;
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
  origins = { primary: await startOrigin("web-cf"), secondary: await startOrigin("web-cdn2") };
  sink = await startSink();
  const probe = createPullProbe({
    id: "p3",
    secret: secretOf("p3"),
    coordinators: [],
    fetch,
    clock: systemClock(),
    log: silentLogger,
  });
  pullProbe = await serveLoopback(new Hono().all("*", (c) => probe.handle(c.req.raw)));
  bundle = await bundleCoordinatorWorker();
  tempDirs.push(bundle.dir);
}, 60_000);

afterAll(async () => {
  await cf?.close();
  await desec?.close();
  await origins?.primary.close();
  await origins?.secondary.close();
  await sink?.close();
  await pullProbe?.close();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe("the coordinator Worker running in workerd", () => {
  it("fails over on both stand-ins when 2 of 3 probes vote down, alerts, and keeps the decision and the replay guard across a restart", async () => {
    const persistDir = freshPersistDir();
    let worker = await startWorker(persistDir);
    const wait = { output };
    try {
      expect(await (await fetch(`${worker.url}/healthz`)).json()).toEqual({ ok: true });
      await until(status(worker), servesBoth(PRIMARY), wait);
      expect(cloudflareRouter()).toBe(PRIMARY.slice(0, -1));
      // p3 never pushes: only the alarm's pull round can bring its vote (the primary origin answers ok).
      await until(status(worker), (s) => s.services[0]?.primary.votes.up === 1, wait);

      const first = primaryDown("p1");
      expect((await push(worker.url, first)).status).toBe(202);
      expect((await status(worker)()).services[0]?.active).toBe("primary");
      expect((await push(worker.url, primaryDown("p2"))).status).toBe(202);

      const switched = await until(status(worker), servesBoth(SECONDARY), wait);
      expect(switched.services[0]?.active).toBe("secondary");
      expect(cloudflareRouter()).toBe(SECONDARY.slice(0, -1));
      const rrset = desec.standin.rrsets(ZONE).get("web-router/CNAME");
      expect(rrset?.records).toEqual([SECONDARY]);
      expect(rrset?.ttl).toBe(3600);

      expect((await fetch(`${worker.url}/v1/status`)).status).toBe(401);
      expect((await fetch(`${worker.url}/v1/events`)).status).toBe(401);
      const failover = (await events(worker)()).events.find((e) => e.type === "failover");
      expect(failover).toMatchObject({ service: "web", from: "primary", to: "secondary" });
      expect(failover?.votes).toMatchObject({ primary: { down: 2 } });
      // Delivered from the Durable Object's outbox to the webhook sink in this process.
      const sent = async () => sink.received.map((r) => (r.body as { type?: string }).type); // the sink keeps parsed JSON
      await until(sent, (types) => types.includes("healthmesh.failover"), wait);

      const replay = await push(worker.url, first);
      expect(replay.status).toBe(401);
      expect(await replay.json()).toMatchObject({ error: { code: "replayed" } });

      // No request runs a round: only the alarm's rounds can notice that p1 stopped pushing.
      const silent = (e: Events) =>
        e.events.some((x) => x.type === "probe.silent" && x.message.includes('"p1"'));
      await until(events(worker), silent, wait);

      await worker.close();
      worker = await startWorker(persistDir);
      const again = await push(worker.url, first);
      expect(again.status).toBe(401);
      expect(await again.json()).toMatchObject({ error: { code: "replayed" } });
      const restarted = await until(status(worker), servesBoth(SECONDARY), wait);
      expect(restarted.services[0]).toMatchObject({ active: "secondary", mode: "auto" });
      const after = await events(worker)();
      expect(after.events.filter((e) => e.type === "coordinator.started").length).toBe(2);
      expect(after.events.filter((e) => e.type === "failover").length).toBe(1);
    } finally {
      await worker.close();
    }
  }, 90_000);

  it("opens the coordinator from the cron trigger alone, before any request reaches it", async () => {
    const worker = await startWorker(freshPersistDir());
    try {
      expect(await worker.scheduled()).toBe("ok");
      const firedBy = Date.now();
      const started = (await events(worker)()).events.filter((e) => e.type === "coordinator.started");
      expect(started.length).toBe(1);
      expect(Date.parse(started[0]?.at ?? "")).toBeLessThanOrEqual(firedBy);
    } finally {
      await worker.close();
    }
  }, 30_000);

  it("answers 500 naming the missing secret when a probe secret is not set", async () => {
    const { SECRET_P3: _, ...bindings } = fullBindings();
    const worker = await startWorker(freshPersistDir(), bindings);
    try {
      const answer = await fetch(`${worker.url}/healthz`);
      expect(answer.status).toBe(500);
      const body = await answer.json();
      expect(body).toMatchObject({ error: { code: "coordinator_misconfigured" } });
      expect(JSON.stringify(body)).toContain("SECRET_P3");
    } finally {
      await worker.close();
    }
  }, 30_000);
});
