/**
 * What the three pager senders share: which episode changes a message carries (a test message makes
 * a test episode that opens and closes at once), and the details every incident shows.
 */
import type { EpisodeChange } from "./episodes.ts";
import type { AlertMessage } from "./message.ts";

/** The episode changes a pager sends for a message, in order. */
export function pagerChanges(message: AlertMessage): EpisodeChange[] {
  if (!message.test) return message.episodes ?? [];
  const at = message.lines[0]?.at ?? new Date(0).toISOString();
  const base = {
    id: "healthmesh:test",
    kind: "test",
    zone: "",
    severity: "info" as const,
    summary: message.lines[0]?.text ?? message.title,
    eventType: "test",
    eventId: 0,
    at,
  };
  // Opened and closed at once: proves the key and the route without leaving an incident open.
  return [
    { ...base, action: "open" },
    { ...base, action: "close" },
  ];
}

/** A one-line headline of an episode change. */
export function headline(change: EpisodeChange): string {
  const where = change.service ? `"${change.service}"` : "the mesh";
  const subject = change.provider ?? change.probe ?? change.coordinator;
  const state = change.action === "open" ? "" : "resolved: ";
  return `healthmesh ${state}${change.kind}${subject ? ` (${subject})` : ""} on ${where}: ${change.summary}`;
}

/** Flat string details: the episode, the vote tally and each provider's DNS state at queue time. */
export function pagerDetails(message: AlertMessage, change: EpisodeChange): Record<string, string> {
  const details: Record<string, string> = { episode: change.id, kind: change.kind, event: change.eventType };
  if (change.service) details.service = change.service;
  if (change.provider) details.provider = change.provider;
  if (change.probe) details.probe = change.probe;
  if (change.coordinator) details.coordinator = change.coordinator;
  if (message.decision) details.decision = message.decision.id;
  const votes = message.votes;
  if (votes) {
    for (const path of ["primary", "secondary"] as const) {
      const t = votes[path];
      details[`votes.${path}`] = `${t.down} down, ${t.up} up, ${t.abstain} abstain`;
    }
  }
  for (const [provider, dns] of Object.entries(message.dns ?? {})) {
    const error = dns.error ? `: ${dns.error}` : "";
    details[`dns.${provider}`] = `${dns.state} ${dns.target ?? "(nothing)"}${error}`;
  }
  for (const fact of message.facts) if (!fact.title.endsWith("votes")) details[fact.title] = fact.value;
  if (message.link) details.status = message.link;
  return details;
}
