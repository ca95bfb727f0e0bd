/**
 * `GET /metrics` in the Prometheus text format (0.0.4). State gauges are computed at scrape time from
 * the same view as `GET /v1/status`; counters of switches and events are counted from the audit log
 * (so they survive restarts); reports and alert deliveries are counted in memory as they happen.
 * The format is written by hand: prom-client needs Node's `cluster`/`v8` and does not run on Workers.
 */
import type { StatusView } from "../shared/api-schema.ts";
import type { RefusalReason } from "./routes/probes.ts";
import type { AuditEvent } from "./store/store.ts";

/** What alert senders report; the alert engine calls it once per delivery outcome. */
export interface AlertCounters {
  /** One message reached `destination` (a configured alert's name). */
  delivered(destination: string): void;
  /** One attempt to reach `destination` failed (retries count again). */
  failed(destination: string): void;
}

/** Where the metrics read the audit log from (the coordinator). */
export interface EventSource {
  events(options: { afterId?: number; limit?: number }): Promise<AuditEvent[]>;
}

const SWITCH_TYPES = ["failover", "failback", "pin"] as const;
const PAGE = 1000;

/** The coordinator's counters, and the renderer of the whole exposition. */
export class CoordinatorMetrics {
  /** The counters the alert engine feeds. */
  readonly alerts: AlertCounters;
  readonly #accepted = new Map<string, number>();
  readonly #refused = new Map<string, number>();
  readonly #delivered = new Map<string, number>();
  readonly #failed = new Map<string, number>();
  readonly #eventsByType = new Map<string, number>();
  readonly #switches = new Map<string, number>();
  readonly #lastWrite = new Map<string, number>();
  #cursor = 0;
  #catchingUp: Promise<void> | null = null;

  constructor(options: { refusalReasons?: readonly RefusalReason[]; destinations?: readonly string[] } = {}) {
    for (const reason of options.refusalReasons ?? []) this.#refused.set(reason, 0);
    for (const name of options.destinations ?? []) {
      this.#delivered.set(name, 0);
      this.#failed.set(name, 0);
    }
    this.alerts = {
      delivered: (destination) => bump(this.#delivered, destination),
      failed: (destination) => bump(this.#failed, destination),
    };
  }

  /** Counts one accepted report. */
  reportAccepted(probe: string): void {
    bump(this.#accepted, probe);
  }

  /** Counts one refused probe request. */
  reportRefused(reason: RefusalReason): void {
    bump(this.#refused, reason);
  }

  /** Deliveries and failed attempts of one alert destination so far. */
  alertCounts(destination: string): { delivered: number; failed: number } {
    return { delivered: this.#delivered.get(destination) ?? 0, failed: this.#failed.get(destination) ?? 0 };
  }

  /** Reads the audit log past what was already counted (one reader at a time). */
  catchUp(source: EventSource): Promise<void> {
    this.#catchingUp ??= this.#readEvents(source).finally(() => {
      this.#catchingUp = null;
    });
    return this.#catchingUp;
  }

  async #readEvents(source: EventSource): Promise<void> {
    for (;;) {
      const page = await source.events({ afterId: this.#cursor, limit: PAGE });
      for (const event of page) this.#count(event);
      if (page.length < PAGE) return;
    }
  }

  #count(event: AuditEvent): void {
    if (event.id <= this.#cursor) return;
    this.#cursor = event.id;
    bump(this.#eventsByType, event.type);
    if (
      event.service &&
      (SWITCH_TYPES as readonly string[]).includes(event.type) &&
      event.from !== event.to
    ) {
      bump(this.#switches, `${event.service}\u0000${event.type}`);
    }
    if (event.type === "dns.switched" && event.provider) {
      this.#lastWrite.set(`${event.service ?? ""}\u0000${event.provider}`, Date.parse(event.at));
    }
  }

  /** The whole exposition for one scrape, as one string (tests, small meshes). */
  render(status: StatusView, options: { startedAt: number }): string {
    return this.renderChunks(status, options).join("");
  }

  /** The whole exposition for one scrape, in chunks of about 64 KiB (what `GET /metrics` streams). */
  renderChunks(status: StatusView, options: { startedAt: number }): string[] {
    const now = Date.parse(status.now);
    const out = new Exposition();
    const services = labelled(status);
    serviceFamilies(out, services, this.#switches);
    dnsFamilies(out, services, this.#lastWrite, now);
    nameserverFamilies(out, status);
    probeFamilies(out, status, services, now);
    out.family("healthmesh_reports_accepted_total", "counter", "Probe reports accepted, by probe");
    for (const [probe, n] of this.#accepted) out.sample({ probe }, n);
    out.family("healthmesh_reports_refused_total", "counter", "Probe requests refused, by reason");
    for (const [reason, n] of this.#refused) out.sample({ reason }, n);
    out.family("healthmesh_alert_deliveries_total", "counter", "Alert messages delivered, by destination");
    for (const [destination, n] of this.#delivered) out.sample({ destination }, n);
    out.family(
      "healthmesh_alert_failures_total",
      "counter",
      "Failed alert delivery attempts, by destination",
    );
    for (const [destination, n] of this.#failed) out.sample({ destination }, n);
    out.family("healthmesh_events_total", "counter", "Audit-log events, by type");
    for (const [type, n] of this.#eventsByType) out.sample({ type }, n);
    out.family("healthmesh_coordinator_start_time_seconds", "gauge", "When this coordinator started");
    out.sample({}, options.startedAt / 1000);
    if (status.cluster) clusterFamilies(out, status.cluster);
    return out.chunks();
  }
}

/** Each service's `service="…"` label, escaped once per scrape (tens of samples share it). */
type Labelled = { svc: StatusView["services"][number]; label: string };

function labelled(status: StatusView): Labelled[] {
  return status.services.map((svc) => ({ svc, label: label("service", svc.name) }));
}

function serviceFamilies(out: Exposition, services: Labelled[], switches: Map<string, number>): void {
  out.family("healthmesh_endpoint_verdict", "gauge", "1 for the quorum's current verdict on an endpoint");
  for (const { svc, label: s } of services)
    for (const endpoint of ENDPOINTS)
      for (const verdict of VERDICTS)
        out.line(
          `${s},endpoint="${endpoint}",verdict="${verdict}"`,
          svc[endpoint].verdict === verdict ? 1 : 0,
        );
  out.family("healthmesh_endpoint_votes", "gauge", "Configured probes voting each way on an endpoint");
  for (const { svc, label: s } of services)
    for (const endpoint of ENDPOINTS)
      for (const vote of VOTES)
        out.line(`${s},endpoint="${endpoint}",vote="${vote}"`, svc[endpoint].votes[vote]);
  out.family("healthmesh_active_path", "gauge", "1 for the path a service is decided to serve from");
  for (const { svc, label: s } of services)
    for (const path of ENDPOINTS) out.line(`${s},path="${path}"`, svc.active === path ? 1 : 0);
  out.family("healthmesh_service_mode", "gauge", "1 for how a service is driven (auto, paused, pinned)");
  for (const { svc, label: s } of services)
    for (const mode of MODES) out.line(`${s},mode="${mode}"`, svc.mode === mode ? 1 : 0);
  out.family("healthmesh_switches_total", "counter", "Path switches from the audit log, by kind");
  for (const { svc, label: s } of services)
    for (const type of SWITCH_TYPES)
      out.line(`${s},type="${type}"`, switches.get(`${svc.name}\u0000${type}`) ?? 0);
  out.family("healthmesh_last_switch_timestamp_seconds", "gauge", "When a service last switched paths");
  for (const { svc, label: s } of services)
    if (svc.lastSwitchAt) out.line(s, Date.parse(svc.lastSwitchAt) / 1000);
}

function dnsFamilies(
  out: Exposition,
  services: Labelled[],
  lastWrite: Map<string, number>,
  now: number,
): void {
  // One provider label per provider name, escaped once.
  const providerLabels = new Map<string, string>();
  const p = (name: string) => memo(providerLabels, name, () => label("provider", name));
  out.family("healthmesh_dns_provider_state", "gauge", "1 for each provider's reconcile state of a router");
  for (const { svc, label: s } of services)
    for (const [provider, dns] of Object.entries(svc.dns))
      for (const state of DNS_STATES)
        out.line(`${s},${p(provider)},state="${state}"`, dns.state === state ? 1 : 0);
  out.family(
    "healthmesh_dns_serving_active",
    "gauge",
    "1 when a provider was last seen serving the active target",
  );
  for (const { svc, label: s } of services)
    for (const [provider, dns] of Object.entries(svc.dns))
      out.line(`${s},${p(provider)}`, dns.target === svc.target ? 1 : 0);
  out.family(
    "healthmesh_dns_divergent",
    "gauge",
    "1 when the providers serve different targets for a router",
  );
  for (const { svc, label: s } of services) {
    const targets = new Set(Object.values(svc.dns).map((d) => d.target));
    out.line(s, targets.size > 1 ? 1 : 0);
  }
  out.family(
    "healthmesh_dns_last_write_age_seconds",
    "gauge",
    "Seconds since a router write was last confirmed",
  );
  for (const { svc, label: s } of services)
    for (const provider of Object.keys(svc.dns)) {
      const at = lastWrite.get(`${svc.name}\u0000${provider}`);
      if (at !== undefined) out.line(`${s},${p(provider)}`, (now - at) / 1000);
    }
  out.family(
    "healthmesh_dns_state_age_seconds",
    "gauge",
    "Seconds since a provider's state was last recorded",
  );
  for (const { svc, label: s } of services)
    for (const [provider, dns] of Object.entries(svc.dns))
      if (dns.updatedAt) out.line(`${s},${p(provider)}`, (now - Date.parse(dns.updatedAt)) / 1000);
  out.family(
    "healthmesh_dns_nameservers_serving_desired",
    "gauge",
    "1 when every answering nameserver of a provider serves the decided target of a router (DNS, not the API)",
  );
  for (const { svc, label: s } of services)
    for (const [provider, dns] of Object.entries(svc.dns))
      if (dns.serving) out.line(`${s},${p(provider)}`, dns.serving.matches ? 1 : 0);
}

function nameserverFamilies(out: Exposition, status: StatusView): void {
  out.family(
    "healthmesh_dns_nameserver_query_errors_total",
    "counter",
    "Questions to a provider's nameservers that got no usable answer",
  );
  for (const [provider, p] of Object.entries(status.nameservers?.providers ?? {}))
    out.sample({ provider }, p.queryErrors);
}

function probeFamilies(out: Exposition, status: StatusView, services: Labelled[], now: number): void {
  out.family(
    "healthmesh_probe_last_seen_age_seconds",
    "gauge",
    "Seconds since a probe's last accepted report",
  );
  for (const p of status.probes)
    if (p.lastSeen)
      out.sample(
        { probe: p.id, provider: p.provider, region: p.region },
        (now - Date.parse(p.lastSeen)) / 1000,
      );
  out.family("healthmesh_probe_silent", "gauge", "1 when a probe sent nothing for 3 intervals (it abstains)");
  for (const p of status.probes) out.sample({ probe: p.id }, p.silent ? 1 : 0);
  out.family(
    "healthmesh_probe_healthy",
    "gauge",
    "1 when a probe's own canary checks passed in its last report",
  );
  for (const p of status.probes) out.sample({ probe: p.id }, p.healthy ? 1 : 0);
  out.family(
    "healthmesh_probe_not_checked",
    "gauge",
    "Results of a probe's last report it could not check (its own limits): no vote either way",
  );
  for (const p of status.probes) out.sample({ probe: p.id }, p.notChecked);
  // `endpoint="…",probe="…"` for every probe and endpoint, escaped once per scrape.
  const probeLabels = new Map<string, string>();
  const ep = (endpoint: string, probe: string) =>
    memo(probeLabels, `${endpoint}\u0000${probe}`, () => `endpoint="${endpoint}",${label("probe", probe)}`);
  out.family("healthmesh_probe_check_ok", "gauge", "1 when a probe's last check of an endpoint passed");
  for (const { svc, label: s } of services)
    for (const r of svc.results) if (r.ok !== null) out.line(`${s},${ep(r.endpoint, r.probe)}`, r.ok ? 1 : 0);
  out.family(
    "healthmesh_probe_check_latency_seconds",
    "gauge",
    "Latency of a probe's last check of an endpoint",
  );
  for (const { svc, label: s } of services)
    for (const r of svc.results)
      if (r.latencyMs !== undefined) out.line(`${s},${ep(r.endpoint, r.probe)}`, r.latencyMs / 1000);
}

function memo(map: Map<string, string>, key: string, make: () => string): string {
  const known = map.get(key);
  if (known !== undefined) return known;
  const made = make();
  map.set(key, made);
  return made;
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

const ENDPOINTS = ["primary", "secondary"] as const;
const VERDICTS = ["up", "down", "unknown"] as const;
const VOTES = ["up", "down", "abstain"] as const;
const MODES = ["auto", "paused", "pinned"] as const;
const DNS_STATES = ["in-sync", "pending", "error"] as const;

/**
 * A writer of the text format: `# HELP`, `# TYPE`, then samples with escaped label values. Lines are
 * gathered into chunks of about 64 KiB, so a scrape of a large mesh never holds one giant string.
 */
class Exposition {
  readonly #chunks: string[] = [];
  #chunk = "";
  #name = "";

  family(name: string, type: "counter" | "gauge", help: string): void {
    this.#name = name;
    this.#push(
      `# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}\n# TYPE ${name} ${type}\n`,
    );
  }

  /** One sample whose labels are given as a map of names to raw values. */
  sample(labels: Record<string, string>, value: number): void {
    this.line(
      Object.entries(labels)
        .map(([k, v]) => label(k, v))
        .join(","),
      value,
    );
  }

  /** One sample whose label text (`name="escaped value",…`) is already written. */
  line(labels: string, value: number): void {
    this.#push(`${this.#name}${labels ? `{${labels}}` : ""} ${formatValue(value)}\n`);
  }

  #push(text: string): void {
    this.#chunk += text;
    if (this.#chunk.length >= 65_536) {
      this.#chunks.push(this.#chunk);
      this.#chunk = "";
    }
  }

  /** The exposition so far, as chunks (ends with a newline). */
  chunks(): string[] {
    if (this.#chunk) {
      this.#chunks.push(this.#chunk);
      this.#chunk = "";
    }
    return this.#chunks;
  }
}

function formatValue(value: number): string {
  if (Number.isFinite(value)) return String(value);
  return Number.isNaN(value) ? "NaN" : value > 0 ? "+Inf" : "-Inf";
}

function label(name: string, value: string): string {
  return `${name}="${escapeLabel(value)}"`;
}

const NEEDS_ESCAPE = /[\\"\n]/;

function escapeLabel(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** HA mode: whether the control plane is frozen and whether this coordinator leads. */
function clusterFamilies(out: Exposition, cluster: NonNullable<StatusView["cluster"]>): void {
  out.family("healthmesh_control_plane_frozen", "gauge", "1 while this coordinator has no etcd quorum");
  out.sample({}, cluster.frozen ? 1 : 0);
  out.family("healthmesh_cluster_leader", "gauge", "1 on the coordinator that leads the cluster");
  out.sample({}, cluster.members.some((m) => m.leader && m.id === cluster.self) ? 1 : 0);
}
