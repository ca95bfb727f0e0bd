/**
 * Episodes: what a pager (PagerDuty, Opsgenie, Alertmanager) is told. An event that opens an episode
 * triggers one incident; the event that closes it resolves the same incident. An episode's id is
 * derived from the zone, the service, the kind and the provider or probe, never stored ids, so a
 * coordinator that restarted between the two (or another leader) resolves what it did not open.
 */
import type { Severity } from "../../shared/alert-config.ts";
import type { AuditEvent } from "../store/store.ts";
import type { Route } from "./factory.ts";
import { atLeast } from "./message.ts";

/** One kind of episode: the event that opens it, the events that close it, and its fixed severity. */
export interface EpisodeRule {
  kind: string;
  opens: string;
  closes: readonly string[];
  /** What besides the service tells two episodes of this kind apart. */
  subject: "provider" | "probe" | "coordinator" | null;
  /** Fixed per kind, so the opening and the closing post carry the same Alertmanager labels. */
  severity: Severity;
}

/** The episode table (docs/alerts.md shows it to operators). */
export const episodeRules: readonly EpisodeRule[] = [
  { kind: "failover", opens: "failover", closes: ["failback"], subject: null, severity: "critical" },
  {
    kind: "both-down",
    opens: "both-down",
    closes: ["both-down.cleared"],
    subject: null,
    severity: "critical",
  },
  {
    kind: "active-down",
    opens: "active.down",
    // The coordinator clears it on every way out, a switch included.
    closes: ["active.down.cleared"],
    subject: null,
    severity: "critical",
  },
  {
    kind: "dns-error",
    opens: "dns.error",
    closes: ["dns.recovered"],
    subject: "provider",
    severity: "critical",
  },
  {
    kind: "dns-lagging",
    opens: "dns.lagging",
    closes: ["dns.lagging.cleared"],
    subject: "provider",
    severity: "warning",
  },
  {
    kind: "dns-diverged",
    opens: "dns.diverged",
    closes: ["dns.converged"],
    subject: null,
    severity: "critical",
  },
  {
    kind: "probe-silent",
    opens: "probe.silent",
    closes: ["probe.back"],
    subject: "probe",
    severity: "warning",
  },
  {
    kind: "control-plane-frozen",
    opens: "control-plane.frozen",
    closes: ["control-plane.resumed"],
    // Each coordinator of a cluster reports its own view of etcd's quorum.
    subject: "coordinator",
    severity: "critical",
  },
];

/** An episode opening or closing, as carried in an alert message and kept while it is open. */
export interface EpisodeChange {
  action: "open" | "close";
  /** Stable per episode: `healthmesh:ZONE:SERVICE:KIND[:PROVIDER|PROBE|COORDINATOR]` (`mesh` without a service). */
  id: string;
  kind: string;
  zone: string;
  service?: string;
  provider?: string;
  probe?: string;
  /** The coordinator whose view it is (control-plane episodes in a cluster). */
  coordinator?: string;
  severity: Severity;
  /** The event's own text. */
  summary: string;
  eventType: string;
  eventId: number;
  /** When the event happened (ISO). */
  at: string;
}

/** The probe or coordinator an event is about: its own field if events ever carry one, else the id quoted in its text. */
function quotedId(event: AuditEvent, field: "probe" | "coordinator", pattern: RegExp): string | undefined {
  const value = (event as AuditEvent & Record<string, unknown>)[field]; // a field newer coordinators may add
  if (typeof value === "string") return value;
  return pattern.exec(event.message)?.[1];
}

function change(rule: EpisodeRule, event: AuditEvent, zone: string, action: EpisodeChange["action"]) {
  const provider = rule.subject === "provider" ? event.provider : undefined;
  const probe = rule.subject === "probe" ? quotedId(event, "probe", /Probe "([^"]+)"/) : undefined;
  const coordinator =
    rule.subject === "coordinator" ? quotedId(event, "coordinator", /coordinator "([^"]+)"/) : undefined;
  const subject = provider ?? probe ?? coordinator;
  const id = ["healthmesh", zone, event.service ?? "mesh", rule.kind, ...(subject ? [subject] : [])].join(
    ":",
  );
  const out: EpisodeChange = {
    action,
    id,
    kind: rule.kind,
    zone,
    severity: rule.severity,
    summary: event.message,
    eventType: event.type,
    eventId: event.id,
    at: event.at,
    ...(event.service ? { service: event.service } : {}),
    ...(provider ? { provider } : {}),
    ...(probe ? { probe } : {}),
    ...(coordinator ? { coordinator } : {}),
  };
  return out;
}

/** The episode openings and closings a group of events makes, in event order. */
export function episodeChangesOf(events: readonly AuditEvent[], zone: string): EpisodeChange[] {
  const out: EpisodeChange[] = [];
  for (const event of events) {
    for (const rule of episodeRules) {
      if (rule.closes.includes(event.type)) out.push(change(rule, event, zone, "close"));
      // A pin back to the primary ends a failover as a fail-back does.
      else if (rule.kind === "failover" && event.type === "pin" && event.to === "primary")
        out.push(change(rule, event, zone, "close"));
      if (rule.opens === event.type) out.push(change(rule, event, zone, "open"));
    }
  }
  return out;
}

/** Whether an event opens or closes any episode. */
export function changesEpisode(event: AuditEvent): boolean {
  return episodeChangesOf([event], "").length > 0;
}

/**
 * Whether a pager destination takes an event: it must open or close an episode whose kind passes
 * the destination's `minSeverity` and whose opening event type is in its `events` (when given). A
 * closing event is routed wherever its opening one is, whatever its own severity.
 */
export function pagerRouted(route: Route, event: AuditEvent): boolean {
  return episodeChangesOf([event], "").some((c) => episodeRuleRouted(route, c.kind));
}

/** Whether a destination takes episodes of `kind`. */
export function episodeRuleRouted(route: Route, kind: string): boolean {
  const rule = episodeRules.find((r) => r.kind === kind);
  if (!rule || !atLeast(rule.severity, route.minSeverity)) return false;
  return route.events === null || route.events.has(rule.opens);
}

/**
 * Whether an open episode is already over by the coordinator's own service state (a failover whose
 * service is back on the primary, a both-down or active-down cleared), for episodes whose closing
 * event this coordinator never saw.
 */
export function overByState(
  episode: EpisodeChange,
  service: (name: string) => { active: string; bothDown?: boolean; activeDown?: boolean } | undefined,
): boolean {
  const state = episode.service ? service(episode.service) : undefined;
  if (!state) return false;
  if (episode.kind === "failover") return state.active === "primary";
  if (episode.kind === "both-down") return state.bothDown === false;
  if (episode.kind === "active-down") return state.activeDown === false;
  return false;
}
