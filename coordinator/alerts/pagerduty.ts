/**
 * PagerDuty Events API v2 (`POST /v2/enqueue`): `trigger` when an episode opens and `resolve` when it
 * closes, both with the episode's id as `dedup_key`, so a restarted coordinator resolves what it
 * triggered. PagerDuty answers 202 when it took the event, 400 `{status, message, errors}` for an
 * invalid one, 429 when the routing key sends too fast (no retry hint: the outbox backs off), 5xx to retry.
 */
import type { Severity } from "../../shared/alert-config.ts";
import type { EpisodeChange } from "./episodes.ts";
import { type AlertMessage, truncate } from "./message.ts";
import { headline, pagerChanges, pagerDetails } from "./pager.ts";
import type { AlertSender, Delivery, RefusalDetail, SenderWorld } from "./sender.ts";
import { jsonOf, request } from "./sender.ts";

/** PagerDuty's field limits. */
export const PAGERDUTY_LIMITS = { summary: 1024, dedupKey: 255 } as const;

const SEVERITY: Record<Severity, "critical" | "warning" | "info"> = {
  critical: "critical",
  warning: "warning",
  info: "info",
};

/** The Events API v2 body for one episode change. */
export function pagerDutyEvent(routingKey: string, message: AlertMessage, change: EpisodeChange) {
  const dedupKey = truncate(change.id, PAGERDUTY_LIMITS.dedupKey);
  if (change.action === "close")
    return { routing_key: routingKey, event_action: "resolve", dedup_key: dedupKey };
  return {
    routing_key: routingKey,
    event_action: "trigger",
    dedup_key: dedupKey,
    payload: {
      summary: truncate(headline(change), PAGERDUTY_LIMITS.summary),
      source: change.service ? `${change.service} (${change.zone})` : `healthmesh ${change.zone}`.trim(),
      severity: SEVERITY[change.severity],
      timestamp: change.at,
      ...(change.service ? { component: change.service } : {}),
      ...(change.zone ? { group: change.zone } : {}),
      class: change.kind,
      custom_details: pagerDetails(message, change),
    },
    client: "healthmesh",
    ...(message.link
      ? { client_url: message.link, links: [{ href: message.link, text: "healthmesh status page" }] }
      : {}),
  };
}

/** Reads an Events API refusal: `{status, message, errors: [..]}`. */
export function pagerDutyRefusal(_response: Response, body: string): RefusalDetail {
  const parsed = jsonOf(body) as { message?: unknown; errors?: unknown } | undefined; // checked below
  if (typeof parsed?.message !== "string") return { detail: body };
  const errors = Array.isArray(parsed.errors) ? parsed.errors.filter((e) => typeof e === "string") : [];
  return { detail: errors.length > 0 ? `${parsed.message}: ${errors.join("; ")}` : parsed.message };
}

/** Triggers and resolves PagerDuty incidents through one Events API v2 integration. */
export class PagerDutySender implements AlertSender {
  readonly type = "pagerduty" as const;

  constructor(
    readonly name: string,
    readonly target: { apiBase: string; routingKey: string },
    readonly world: SenderWorld,
  ) {}

  async send(message: AlertMessage, _delivery: Delivery): Promise<void> {
    const url = `${this.target.apiBase.replace(/\/$/, "")}/v2/enqueue`;
    // In order: a trigger and its resolve in one message must reach PagerDuty in that order.
    for (const change of pagerChanges(message)) {
      const body = JSON.stringify(pagerDutyEvent(this.target.routingKey, message, change));
      await request(this.name, url, { body }, this.world, pagerDutyRefusal);
    }
  }
}
