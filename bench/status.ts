/**
 * Benchmark 5: the cost of the status reads at 100, 1,000 and 10,000 services (3 probes, 2 DNS
 * providers): `GET /v1/status`, `GET /metrics` and the status page's poll `GET /ui/state`, each beside
 * baselines measured in the same run: a bare JSON.stringify of the same status view, the previous
 * O(services² × providers) status builder (kept below, for the ratio only), and the previous page
 * poll (every service, every series with 60 points). `npx tsx bench/status.ts` runs it alone.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { buildApp } from "../coordinator/app.ts";
import { OperatorAuth } from "../coordinator/auth.ts";
import { Coordinator } from "../coordinator/coordinator.ts";
import { MemoryDnsProvider } from "../coordinator/dns/memory.ts";
import { CoordinatorMetrics } from "../coordinator/metrics.ts";
import { mountUiRoutes } from "../coordinator/routes/ui.ts";
import { buildStatus } from "../coordinator/status.ts";
import { MemoryStore } from "../coordinator/store/memory.ts";
import type { TrackRow } from "../coordinator/store/store.ts";
import { LatencyHistory, RecentEvents } from "../coordinator/ui/history.ts";
import type { ServiceStatus, StatusView } from "../shared/api-schema.ts";
import { ManualClock } from "../shared/clock.ts";
import { silentLogger } from "../shared/log.ts";
import { benchMeshConfig } from "./mesh-config.ts";
import { median, ms, type Row } from "./table.ts";

const TOKEN = "bench-token";
const PROBES = 3;
const auth = { authorization: `Bearer ${TOKEN}` };

function meshConfig(services: number) {
  return benchMeshConfig(services, PROBES);
}

/** A coordinator on two in-memory providers whose probes all have a last result and an `up` vote everywhere. */
async function loaded(services: number) {
  const config = meshConfig(services);
  const clock = new ManualClock();
  const store = new MemoryStore();
  const at = new Date(clock.now()).toISOString();
  const tracks: TrackRow[] = config.services.flatMap((svc) =>
    config.probes.members.flatMap((member) =>
      (["primary", "secondary"] as const).map((endpoint) => ({
        probe: member.id,
        service: svc.name,
        endpoint,
        track: {
          fails: 0,
          oks: 6,
          vote: "up" as const,
          seenAt: clock.now(),
          last: { ok: true, status: 200, latencyMs: 42, checkedAt: at },
        },
      })),
    ),
  );
  const probes = config.probes.members.map((m) => ({
    id: m.id,
    lastSeen: clock.now(),
    healthy: true,
    silent: false,
  }));
  await store.commit({ tracks, probes });
  const providers = [new MemoryDnsProvider("cloudflare"), new MemoryDnsProvider("desec")];
  const coordinator = await Coordinator.open({ config, store, clock, log: silentLogger, providers });
  await coordinator.reconciler.idle();
  return { coordinator, clock };
}

/** The status builder before this change: every service filtered every provider row (kept for the ratio). */
function previousBuildStatus(coordinator: Coordinator, now: number): StatusView {
  const config = coordinator.config;
  const dnsRows = coordinator.reconciler.states();
  const services = config.services.map((svc): ServiceStatus => {
    const state = coordinator.service(svc.name);
    const verdicts = coordinator.verdicts(svc.name);
    const router = coordinator.routerName(svc);
    const dns: ServiceStatus["dns"] = {};
    for (const row of dnsRows.filter((r) => r.router === router))
      dns[row.provider] = {
        state: row.state,
        target: row.target,
        updatedAt: new Date(row.updatedAt).toISOString(),
      };
    const results = (["primary", "secondary"] as const).flatMap((endpoint) =>
      verdicts.counted[endpoint].map((counted) => {
        const last = coordinator.track(counted.probe, svc.name, endpoint)?.last;
        return { probe: counted.probe, endpoint, vote: counted.vote, ok: last ? last.ok : null };
      }),
    );
    return {
      name: svc.name,
      router,
      target: svc[state.active].target,
      active: state.active,
      mode: state.mode,
      lastSwitchAt: null,
      primary: { ...verdicts.primary, target: svc.primary.target },
      secondary: { ...verdicts.secondary, target: svc.secondary.target },
      dns,
      results,
    };
  });
  return {
    zone: config.zone,
    now: new Date(now).toISOString(),
    services,
    probes: buildStatus(coordinator, now).probes,
  };
}

async function timeIt(fn: () => unknown, repeat: number): Promise<number> {
  await fn(); // warm up
  const times: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return median(times);
}

/** Time and size of one GET through the app (status, headers and the whole body read). */
async function get(
  app: { request: (path: string, init?: RequestInit) => Response | Promise<Response> },
  path: string,
) {
  let bytes = 0;
  const time = await timeIt(async () => {
    const response = await app.request(path, { headers: auth });
    if (!response.ok) throw new Error(`${path} answered ${response.status}`);
    bytes = (await response.arrayBuffer()).byteLength;
  }, 5);
  return { time, bytes };
}

const kib = (bytes: number) =>
  bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1048576).toFixed(1)} MiB`;

/** The status page's routes over a latency history holding 60 points per probe × service × endpoint. */
function pageApp(coordinator: Coordinator, clock: ManualClock) {
  const history = new LatencyHistory();
  for (let round = 0; round < 60; round++) {
    const checkedAt = new Date(clock.now() - (60 - round) * 10_000).toISOString();
    for (const svc of coordinator.config.services)
      for (let p = 0; p < PROBES; p++)
        for (const endpoint of ["primary", "secondary"] as const)
          history.record(
            { probe: `p${p}`, service: svc.name, endpoint },
            { ok: true, latencyMs: 40 + round, checkedAt },
          );
  }
  const app = new OpenAPIHono();
  const deps = { coordinator, clock, log: silentLogger, apiToken: TOKEN, secretFor: () => undefined };
  const metrics = new CoordinatorMetrics();
  const ui = {
    history,
    recent: new RecentEvents(),
    metrics,
    auth: new OperatorAuth([{ name: "b", role: "read", token: TOKEN }]),
  };
  mountUiRoutes(app, deps, ui);
  return { app, history };
}

/** One size: the three reads and their baselines. */
async function size(services: number): Promise<Row[]> {
  const { coordinator, clock } = await loaded(services);
  const app = buildApp({
    coordinator,
    clock,
    log: silentLogger,
    apiToken: TOKEN,
    secretFor: () => undefined,
  });
  const label = `${services.toLocaleString("en")} services × ${PROBES} probes × 2 providers`;
  const now = clock.now();
  const view = buildStatus(coordinator, now);
  const stringify = await timeIt(() => JSON.stringify(view), 5);
  const build = await timeIt(() => buildStatus(coordinator, now), 5);
  const previous = await timeIt(() => previousBuildStatus(coordinator, now), services >= 10_000 ? 1 : 3);
  const status = await get(app, "/v1/status");
  const metrics = await get(app, "/metrics");
  const page = pageApp(coordinator, clock);
  const previousPoll = await timeIt(
    () => JSON.stringify({ status: view, latency: page.history.series() }),
    3,
  );
  const previousBytes = JSON.stringify({ status: view, latency: page.history.series() }).length;
  const first = await get(page.app, "/ui/state");
  const cursor = page.history.cursor;
  const checkedAt = new Date(now).toISOString();
  for (const svc of coordinator.config.services) // one new check per series, as one probe round brings
    for (let p = 0; p < PROBES; p++)
      for (const endpoint of ["primary", "secondary"] as const)
        page.history.record(
          { probe: `p${p}`, service: svc.name, endpoint },
          { ok: true, latencyMs: 50, checkedAt },
        );
  const steady = await get(page.app, `/ui/state?since=${cursor}`);
  coordinator.stop();
  const bare = `${ms(stringify)} (bare JSON.stringify of the same view)`;
  return [
    {
      bench: "5 status reads",
      case: `buildStatus, ${label}`,
      figure: ms(build),
      baseline: `${ms(previous)} (previous O(n²) builder)`,
      ratio: `${(previous / build).toFixed(1)}× faster`,
      note: "",
    },
    {
      bench: "5 status reads",
      case: `GET /v1/status, ${label}`,
      figure: `${ms(status.time)}, ${kib(status.bytes)}`,
      baseline: bare,
      ratio: `${(status.time / stringify).toFixed(1)}×`,
      note: "whole body, every service (CONTRACT §6)",
    },
    {
      bench: "5 status reads",
      case: `GET /metrics, ${label}`,
      figure: `${ms(metrics.time)}, ${kib(metrics.bytes)}`,
      baseline: bare,
      ratio: `${(metrics.time / stringify).toFixed(1)}×`,
      note: "public by default",
    },
    {
      bench: "5 status reads",
      case: `page poll GET /ui/state (first), ${label}`,
      figure: `${ms(first.time)}, ${kib(first.bytes)}`,
      baseline: `${ms(previousPoll)}, ${kib(previousBytes)} (previous poll: every service, 60 points per series)`,
      ratio: `${(previousBytes / first.bytes).toFixed(0)}× fewer bytes, ${(previousPoll / first.time).toFixed(1)}× faster`,
      note: "20 services, those needing attention first",
    },
    {
      bench: "5 status reads",
      case: `page poll GET /ui/state?since= (every 2 s), ${label}`,
      figure: `${ms(steady.time)}, ${kib(steady.bytes)}`,
      baseline: `${ms(previousPoll)}, ${kib(previousBytes)} (previous poll)`,
      ratio: `${(previousBytes / steady.bytes).toFixed(0)}× fewer bytes, ${(previousPoll / steady.time).toFixed(1)}× faster`,
      note: "only the points recorded since the last poll",
    },
  ];
}

/** Runs benchmark 5. */
export async function statusReads(sizes: readonly number[] = [100, 1000, 10_000]): Promise<Row[]> {
  const rows: Row[] = [];
  for (const services of sizes) rows.push(...(await size(services)));
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { markdown } = await import("./table.ts");
  console.log(markdown(await statusReads()));
}
