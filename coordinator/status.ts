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
  /** Only services that need attention (see `needsAttention`). */
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
  const first: Built[] = [];
  const rest: Built[] = [];
  for (const svc of config.services) {
    if (filter.service !== undefined && svc.name !== filter.service) continue;
    const built = serviceStatus(coordinator, svc, dnsByRouter);
    const attention = needsAttention(built.status);
    count(summary, built.status, attention);
    if (needle && !svc.name.toLowerCase().includes(needle)) continue;
    if (filter.unhealthy && !attention) continue;
    (filter.attentionFirst && !attention ? rest : first).push(built);
  }
  const matched = first.length + rest.length;
  const offset = filter.offset ?? 0;
  const limit = filter.limit ?? matched;
  const page = [...first, ...rest].slice(offset, offset + limit);
  const services = page.map(({ status, counted }) => ({
    ...status,
    results: resultsOf(coordinator, status.name, counted),
  }));
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

/**
 * Whether a service needs an operator's eye: off its primary, not automatic, primary not UP,
 * secondary DOWN, or a provider not in sync with (or not serving) the live target.
 */
export function needsAttention(svc: ServiceStatus): boolean {
  if (svc.active !== "primary" || svc.mode !== "auto") return true;
  if (svc.primary.verdict !== "up" || svc.secondary.verdict === "down") return true;
  return Object.values(svc.dns).some((d) => d.state !== "in-sync" || d.target !== svc.target);
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

/** A service's status without per-probe results, and the votes those are made from. */
interface Built {
  status: ServiceStatus;
  counted: Counted;
}

/** One service without its per-probe results (those are added for the services a page shows). */
function serviceStatus(
  coordinator: Coordinator,
  svc: ServiceConfig,
  dnsByRouter: Map<string, ProviderRouterRow[]>,
): Built {
  const state = coordinator.service(svc.name);
  const verdicts = coordinator.verdicts(svc.name);
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
  return { status, counted: verdicts.counted };
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

function count(summary: StatusSummary, svc: ServiceStatus, attention: boolean): void {
  if (attention) summary.unhealthy++;
  summary.active[svc.active]++;
  summary.mode[svc.mode]++;
  summary.primary[svc.primary.verdict]++;
}
