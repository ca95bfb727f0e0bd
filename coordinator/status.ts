/** Builds the `GET /v1/status` view from the coordinator's state. */
import type { ServiceStatus, StatusView } from "../shared/api-schema.ts";
import { isSilent } from "../shared/quorum.ts";
import type { Coordinator } from "./coordinator.ts";
import { nameserverStatus, servingOf } from "./dns/nameserver-status.ts";

/** The status of every service, probe and DNS provider, at the coordinator's `now`. */
export function buildStatus(coordinator: Coordinator, now: number): StatusView {
  const config = coordinator.config;
  const dnsRows = coordinator.reconciler.states();
  const services = config.services.map((svc): ServiceStatus => {
    const state = coordinator.service(svc.name);
    const verdicts = coordinator.verdicts(svc.name);
    const router = coordinator.routerName(svc);
    const dns: ServiceStatus["dns"] = {};
    for (const row of dnsRows.filter((r) => r.router === router)) {
      dns[row.provider] = {
        state: row.state,
        target: row.target,
        updatedAt: new Date(row.updatedAt).toISOString(),
        ...(row.error !== undefined ? { error: row.error } : {}),
        ...servingOf(coordinator.nameservers, row.provider, router),
      };
    }
    const results = (["primary", "secondary"] as const).flatMap((endpoint) =>
      verdicts.counted[endpoint].map((counted) => {
        const last = coordinator.track(counted.probe, svc.name, endpoint)?.last;
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
    return {
      name: svc.name,
      router,
      target: svc[state.active].target,
      active: state.active,
      mode: state.mode,
      lastSwitchAt: state.lastSwitchAt === null ? null : new Date(state.lastSwitchAt).toISOString(),
      primary: { ...verdicts.primary, target: svc.primary.target },
      secondary: { ...verdicts.secondary, target: svc.secondary.target },
      dns,
      results,
    };
  });
  const probes = config.probes.members.map((member) => {
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
  const cluster = coordinator.clusterStatus();
  return {
    zone: config.zone,
    now: new Date(now).toISOString(),
    services,
    probes,
    nameservers: nameserverStatus(coordinator.nameservers),
    ...(cluster ? { cluster } : {}),
  };
}
