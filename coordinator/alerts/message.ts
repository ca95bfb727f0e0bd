/**
 * The neutral alert message: what every destination renders in its own format. Built from a group of
 * audit events (one service's events within `groupWait`), so a failover and its DNS writes are one message.
 */
import type { AlertEventType, Severity } from "../../shared/alert-config.ts";
import { severities } from "../../shared/alert-config.ts";
import type { Config } from "../../shared/config-schema.ts";
import type { Tally } from "../../shared/quorum.ts";
import type { AuditEvent } from "../store/store.ts";
import type { EpisodeChange } from "./episodes.ts";

/** One labelled value shown beside the text (Slack fields, Discord embed fields, Adaptive Card facts). */
export interface Fact {
  title: string;
  value: string;
}

/** One event inside a message. */
export interface MessageLine {
  at: string;
  type: string;
  text: string;
}

/** A platform-neutral alert. */
export interface AlertMessage {
  /** Grouping key: the service name, or `mesh` for events without one. */
  key: string;
  severity: Severity;
  /** The headline event's type (the most severe event of the group). */
  type: string;
  title: string;
  lines: MessageLine[];
  facts: Fact[];
  service?: string;
  votes?: { primary: Tally; secondary: Tally };
  /** Status page link when `coordinator.publicUrl` is configured. */
  link?: string;
  /** The audit events this message reports. */
  events: AuditEvent[];
  /** Episode openings and closings, for pager destinations (set when the message is queued for one). */
  episodes?: EpisodeChange[];
  /**
   * HA mode: the decision this message reports (its headline's, else its first decided event's),
   * with an id derived from zone, service, decision number and event type — the same on every
   * member, so a receiver can drop the copy a new leader or a restarted member sends again.
   */
  decision?: { id: string; number: number; type: string };
  /** Each DNS provider's state of the service's router when the message was queued. */
  dns?: Record<string, { state: string; target: string | null; error?: string }>;
  test?: boolean;
}

const SEVERITY: Record<AlertEventType, Severity> = {
  failover: "critical",
  "both-down": "critical",
  "dns.error": "critical",
  "dns.diverged": "critical",
  failback: "warning",
  "flap.held": "warning",
  "switch.suppressed": "warning",
  "probe.silent": "warning",
  "dns.drift": "warning",
  pin: "warning",
  pause: "warning",
  "coordinator.started": "warning",
  resume: "info",
  "dns.switched": "info",
  "dns.recovered": "info",
  "dns.converged": "info",
  "probe.back": "info",
  "both-down.cleared": "info",
  "active.down": "critical",
  "active.down.cleared": "info",
  "dns.lagging": "warning",
  "dns.lagging.cleared": "info",
  "control-plane.frozen": "critical",
  "control-plane.resumed": "info",
};

/** The severity of an event type, or null when the type never alerts. */
export function severityOf(event: AuditEvent): Severity | null {
  if (!(event.type in SEVERITY)) return null;
  // A plain start is routine; only a start that resumes unfinished DNS work is worth a message.
  if (event.type === "coordinator.started" && !/unfinished/i.test(event.message)) return null;
  // A failover that a pause or a pin keeps from happening leaves users on a dead path: page for it.
  if (event.type === "switch.suppressed" && event.to === "secondary") return "critical";
  return SEVERITY[event.type as AlertEventType]; // checked with `in` above
}

/** Whether `severity` is at or above `min`. */
export function atLeast(severity: Severity, min: Severity): boolean {
  return severities.indexOf(severity) >= severities.indexOf(min);
}

const HEADLINE_TYPES = new Set(["failover", "failback", "both-down", "active.down"]);

function headlineOf(events: readonly AuditEvent[]): AuditEvent | undefined {
  let best: AuditEvent | undefined;
  let bestRank = -1;
  for (const event of events) {
    // Severity first; among equals a switch or an outage is the headline, not its side events.
    const rank =
      severities.indexOf(severityOf(event) ?? "info") * 2 + (HEADLINE_TYPES.has(event.type) ? 1 : 0);
    if (rank > bestRank) {
      best = event;
      bestRank = rank;
    }
  }
  return best;
}

function titleOf(event: AuditEvent, config: Config): string {
  const svc = event.service ? `"${event.service}"` : "the mesh";
  const target = (path: string | undefined) =>
    config.services.find((s) => s.name === event.service)?.[path === "primary" ? "primary" : "secondary"]
      .target;
  switch (event.type) {
    case "failover":
      return `Failover: ${svc} switched to ${event.to ?? "secondary"} (${target(event.to) ?? "?"})`;
    case "failback":
      return `Fail-back: ${svc} returned to ${event.to ?? "primary"} (${target(event.to) ?? "?"})`;
    case "both-down":
      return `Both paths of ${svc} are down`;
    case "dns.error":
      return `DNS write failed for ${svc} on ${event.provider ?? "a provider"}`;
    case "dns.diverged":
      return `DNS providers disagree on ${svc}`;
    case "dns.converged":
      return `DNS providers agree again on ${svc}`;
    case "dns.switched":
      return `DNS switched for ${svc} on ${event.provider ?? "a provider"}`;
    case "dns.drift":
      return `DNS record of ${svc} changed by hand on ${event.provider ?? "a provider"}`;
    case "dns.recovered":
      return `DNS writes work again for ${svc} on ${event.provider ?? "a provider"}`;
    case "both-down.cleared":
      return `${svc} is no longer down on both paths`;
    case "probe.back":
      return "A probe is reporting again";
    case "flap.held":
      return `Flapping: fail-back of ${svc} held until the primary stays up for holdDown`;
    case "switch.suppressed":
      return `${svc} would ${event.to === "secondary" ? "fail over" : "fail back"} but is paused or pinned`;
    case "probe.silent":
      return "A probe went silent";
    case "pin":
    case "pause":
    case "resume":
      return `Operator ${event.type}: ${svc}${event.actor ? ` by ${event.actor}` : ""}`;
    case "coordinator.started":
      return "Coordinator restarted with unfinished work";
    case "active.down":
      return `The live path of ${svc} is down and the other one is not known to be up`;
    case "active.down.cleared":
      return `The live path of ${svc} is no longer down`;
    case "dns.lagging":
      return `Nameservers of ${event.provider ?? "a provider"} still serve the old answer for ${svc}`;
    case "dns.lagging.cleared":
      return `Nameservers of ${event.provider ?? "a provider"} serve the new answer for ${svc}`;
    case "control-plane.frozen":
      return "Control plane frozen: no coordinator can decide or switch DNS";
    case "control-plane.resumed":
      return "Control plane back: a coordinator leads again";
    default:
      return `${event.type}: ${svc}`;
  }
}

function tallyText(t: Tally): string {
  return `${t.down} down, ${t.up} up, ${t.abstain} abstain`;
}

/** Builds one message from a group of events (oldest first). */
export function formatMessage(key: string, events: readonly AuditEvent[], config: Config): AlertMessage {
  const headline = headlineOf(events) ?? events[0];
  if (!headline) throw new RangeError("Cannot format an alert: the group has no events");
  const service = config.services.find((s) => s.name === key);
  const votes = [...events].reverse().find((e) => e.votes)?.votes;
  const facts: Fact[] = [];
  if (service) {
    facts.push({ title: "Service", value: service.name });
    facts.push({ title: "Primary", value: service.primary.target });
    facts.push({ title: "Secondary", value: service.secondary.target });
  }
  if (votes) {
    facts.push({ title: "Primary votes", value: tallyText(votes.primary) });
    facts.push({ title: "Secondary votes", value: tallyText(votes.secondary) });
  }
  const more = events.length > 1 ? ` (+${events.length - 1} more)` : "";
  const link = config.coordinator.publicUrl;
  return {
    key,
    severity: severityOf(headline) ?? "info",
    type: headline.type,
    title: `${titleOf(headline, config)}${more}`,
    lines: events.map((e) => ({ at: e.at, type: e.type, text: e.message })),
    facts,
    events: [...events],
    ...(service ? { service: service.name } : {}),
    ...(votes ? { votes } : {}),
    ...(link ? { link } : {}),
    ...decisionOf(headline, events, config.zone),
  };
}

/** The decision a message reports and its cluster-wide id, when an event carries a decision number. */
function decisionOf(
  headline: AuditEvent,
  events: readonly AuditEvent[],
  zone: string,
): { decision?: NonNullable<AlertMessage["decision"]> } {
  const decided = headline.decision !== undefined ? headline : events.find((e) => e.decision !== undefined);
  if (decided?.decision === undefined) return {};
  const parts = ["healthmesh", zone, decided.service ?? "mesh", `d${decided.decision}`, decided.type];
  const id = parts.join(".").replace(/[^A-Za-z0-9._]/g, "_");
  return { decision: { id, number: decided.decision, type: decided.type } };
}

/** The message `healthmesh alert test` sends. */
export function testMessage(config: Config, nowMs: number): AlertMessage {
  const link = config.coordinator.publicUrl;
  const at = new Date(nowMs).toISOString();
  return {
    key: "test",
    severity: "info",
    type: "test",
    title: "healthmesh test alert",
    lines: [
      { at, type: "test", text: `Test message from healthmesh for zone ${config.zone}; no action needed` },
    ],
    facts: config.services.map((s) => ({
      title: s.name,
      value: `${s.primary.target} / ${s.secondary.target}`,
    })),
    events: [],
    test: true,
    ...(link ? { link } : {}),
  };
}

/** Cuts `text` to at most `max` characters, marking the cut with an ellipsis. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, Math.max(0, max - 1))}…`;
}

/** The lines of a message as plain text, one per event, time first (HH:MM:SSZ). */
export function plainLines(message: AlertMessage): string[] {
  return message.lines.map((line) => `${line.at.slice(11, 19)}Z ${line.text}`);
}
