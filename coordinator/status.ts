/**
 * Builds the `GET /v1/status` view from the coordinator's state, in time linear in services ×
 * (probes + providers): DNS rows are grouped by router once per read, and filters and paging
 * decide which services are built in full.
 */
import type { ServiceStatus, StatusView } from "../shared/api-schema.ts";
import type { ServiceConfig } from "../shared/config-schema.ts";
import { isSilent } from "../shared/quorum.ts";
import type { PageInfo, StatusSummary } from "../shared/status-schema.ts";
import type { Coordinator } from "./coordinator.ts";
import { nameserverStatus, servingOf } from "./dns/nameserver-status.ts";
import type { ProviderRouterRow } from "./store/store.ts";

/** Which services a read wants; without any, every service in config order. */
export interface StatusFilter {
  /** Exactly this service. */
  service?: string;
  /** Services whose name contains this text, case-insensitive (the status page's filter box). */
  nameContains?: string;
  /**
   * Only services that need an operator's eye: off the primary, not automatic, primary not UP,
   * secondary DOWN, or a provider not in sync with the live target.
   */
  unhealthy?: boolean;
  /** Services needing attention first, then the others (each group in config order). */
  attentionFirst?: boolean;
  offset?: number;
  limit?: number;
}

/** A status read: the view, where its page lies, and counts over the services read (all, unless `service` names one). */
export interface StatusRead {
  view: StatusView;
  page: PageInfo;
  summary: StatusSummary;
}

/** The status of every service, probe and DNS provider, at the coordinator's `now` (CONTRACT §6). */
export function buildStatus(coordinator: Coordinator, now: number): StatusView {
  return readStatus(coordinator, now).view;
}

/** A filtered, paged status read with a summary; one pass over the services. */
export function readStatus(coordinator: Coordinator, now: number, filter: StatusFilter = {}): StatusRead {
  const config = coordinator.config;
  const dnsByRouter = groupByRouter(coordinator.reconciler.states());
  const probes = probeStatuses(coordinator, now);
  const summary = emptySummary(config.services.length, probes);
  const needle = filter.nameContains?.toLowerCase() ?? "";
  const first: ServiceConfig[] = [];
  const rest: ServiceConfig[] = [];
  // Every service is counted and filtered from its raw state; only the page's services are built.
  for (const svc of config.services) {
    if (filter.service !== undefined && svc.name !== filter.service) continue;
    const state = coordinator.service(svc.name);
    const verdicts = coordinator.tallies(svc.name);
    const target = svc[state.active].target;
    const rows = dnsByRouter.get(coordinator.routerName(svc)) ?? [];
    const attention =
      state.active !== "primary" ||
      state.mode !== "auto" ||
      verdicts.primary.verdict !== "up" ||
      verdicts.secondary.verdict === "down" ||
      rows.some((row) => row.state !== "in-sync" || row.target !== target);
    if (attention) summary.unhealthy++;
    summary.active[state.active]++;
    summary.mode[state.mode]++;
    summary.primary[verdicts.primary.verdict]++;
    if (needle && !svc.name.toLowerCase().includes(needle)) continue;
    if (filter.unhealthy && !attention) continue;
    (filter.attentionFirst && !attention ? rest : first).push(svc);
  }
  const matched = first.length + rest.length;
  const offset = filter.offset ?? 0;
  const limit = filter.limit ?? matched;
  const page = [...first, ...rest].slice(offset, offset + limit);
  const services = page.map((svc) => {
    const status = serviceStatus(coordinator, svc, dnsByRouter);
    return { ...status, results: resultsOf(coordinator, svc.name, coordinator.verdicts(svc.name).counted) };
  });
  const cluster = coordinator.clusterStatus();
  const view: StatusView = {
    zone: config.zone,
    now: new Date(now).toISOString(),
    services,
    probes,
    nameservers: nameserverStatus(coordinator.nameservers),
    ...(cluster ? { cluster } : {}),
  };
  return {
    view,
    page: { offset, limit, matched, total: config.services.length },
    summary,
  };
}

function groupByRouter(rows: ProviderRouterRow[]): Map<string, ProviderRouterRow[]> {
  const byRouter = new Map<string, ProviderRouterRow[]>();
  for (const row of rows) {
    const router = row.router;
    const list = byRouter.get(router);
    if (list) list.push(row);
    else byRouter.set(router, [row]);
  }
  return byRouter;
}

type Counted = ReturnType<Coordinator["verdicts"]>["counted"];

/** One service without its per-probe results (those are added for the services a page shows). */
function serviceStatus(
  coordinator: Coordinator,
  svc: ServiceConfig,
  dnsByRouter: Map<string, ProviderRouterRow[]>,
): ServiceStatus {
  const state = coordinator.service(svc.name);
  const verdicts = coordinator.tallies(svc.name);
  const router = coordinator.routerName(svc);
  const dns: ServiceStatus["dns"] = {};
  for (const row of dnsByRouter.get(router) ?? []) {
    dns[row.provider] = {
      state: row.state,
      target: row.target,
      updatedAt: new Date(row.updatedAt).toISOString(),
      ...(row.error !== undefined ? { error: row.error } : {}),
      ...servingOf(coordinator.nameservers, row.provider, router),
    };
  }
  const status: ServiceStatus = {
    name: svc.name,
    router,
    target: svc[state.active].target,
    active: state.active,
    mode: state.mode,
    lastSwitchAt: state.lastSwitchAt === null ? null : new Date(state.lastSwitchAt).toISOString(),
    primary: { ...verdicts.primary, target: svc.primary.target },
    secondary: { ...verdicts.secondary, target: svc.secondary.target },
    dns,
    results: [],
  };
  return status;
}

/** Each configured probe's vote and last result on both endpoints of a service. */
function resultsOf(coordinator: Coordinator, name: string, counted: Counted): ServiceStatus["results"] {
  return (["primary", "secondary"] as const).flatMap((endpoint) =>
    counted[endpoint].map((counted) => {
      const last = coordinator.track(counted.probe, name, endpoint)?.last;
      return {
        probe: counted.probe,
        endpoint,
        vote: counted.vote,
        ok: last ? last.ok : null,
        ...(last?.status !== undefined ? { status: last.status } : {}),
        ...(last?.latencyMs !== undefined ? { latencyMs: last.latencyMs } : {}),
        ...(last?.error !== undefined ? { error: last.error } : {}),
        ...(last ? { checkedAt: last.checkedAt } : {}),
      };
    }),
  );
}

function probeStatuses(coordinator: Coordinator, now: number): StatusView["probes"] {
  const config = coordinator.config;
  return config.probes.members.map((member) => {
    const row = coordinator.probe(member.id);
    const lastSeen = row?.lastSeen ?? null;
    return {
      id: member.id,
      provider: member.provider,
      region: member.region,
      mode: member.mode,
      lastSeen: lastSeen === null ? null : new Date(lastSeen).toISOString(),
      healthy: row?.healthy ?? true,
      notChecked: row?.notChecked ?? 0,
      silent: isSilent({ lastSeen, healthy: true }, { now, intervalMs: config.probes.interval }),
    };
  });
}

function emptySummary(services: number, probes: StatusView["probes"]): StatusSummary {
  return {
    services,
    unhealthy: 0,
    active: { primary: 0, secondary: 0 },
    mode: { auto: 0, paused: 0, pinned: 0 },
    primary: { up: 0, down: 0, unknown: 0 },
    probes: {
      total: probes.length,
      silent: probes.filter((p) => p.silent).length,
      unhealthy: probes.filter((p) => !p.healthy).length,
    },
  };
}
