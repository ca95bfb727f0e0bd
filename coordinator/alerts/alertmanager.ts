/**
 * Prometheus Alertmanager API v2 (`POST /api/v2/alerts`), posted to every member of its cluster as
 * Prometheus does. An alert is identified by its labels (`alertname`, `service`, `provider` or
 * `probe`, `severity`, `zone`), which are the same for every post of one episode. A firing alert
 * carries `endsAt` four resend intervals ahead and is posted again each `resendInterval` while the
 * episode lasts (`refresh`), so it expires by itself if healthmesh dies; the closing post sets
 * `endsAt` to the closing event's time, which resolves it. Alertmanager answers 200, or 400 with a
 * text or JSON reason.
 */
import type { EpisodeChange } from "./episodes.ts";
import { type AlertMessage, plainLines } from "./message.ts";
import { headline, pagerChanges } from "./pager.ts";
import type { AlertSender, Delivery, SenderWorld } from "./sender.ts";
import { DeliveryError, request } from "./sender.ts";

/** One alert as Alertmanager's API v2 takes it. */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
}

/** Where and how to post. */
export interface AlertmanagerTarget {
  urls: readonly string[];
  /** `Authorization` header value (Bearer or Basic), when the cluster sits behind auth. */
  authorization?: string;
  resendIntervalMs: number;
}

function alertName(kind: string): string {
  return `Healthmesh${kind.replace(/(^|-)([a-z])/g, (_m, _dash, c: string) => c.toUpperCase())}`;
}

/** The labels of an episode: identical on every post of it. */
export function alertmanagerLabels(change: EpisodeChange): Record<string, string> {
  return {
    alertname: alertName(change.kind),
    severity: change.severity,
    ...(change.zone ? { zone: change.zone } : {}),
    ...(change.service ? { service: change.service } : {}),
    ...(change.provider ? { provider: change.provider } : {}),
    ...(change.probe ? { probe: change.probe } : {}),
    ...(change.coordinator ? { coordinator: change.coordinator } : {}),
  };
}

/** The alert to post for an episode change at `nowMs`. */
export function alertmanagerAlert(
  change: EpisodeChange,
  options: { nowMs: number; resendIntervalMs: number; message?: AlertMessage; link?: string },
): PostableAlert {
  const firing = change.action === "open";
  const lines = options.message ? plainLines(options.message).join("\n") : change.summary;
  return {
    labels: alertmanagerLabels(change),
    annotations: {
      summary: headline(change),
      description: lines,
      episode: change.id,
      // Labels stay the episode's (Alertmanager's identity); the decision is context.
      ...(options.message?.decision ? { decision: options.message.decision.id } : {}),
    },
    startsAt: change.at,
    endsAt: firing ? new Date(options.nowMs + 4 * options.resendIntervalMs).toISOString() : change.at,
    ...(options.link ? { generatorURL: options.link } : {}),
  };
}

/** Posts episodes to an Alertmanager cluster. */
export class AlertmanagerSender implements AlertSender {
  readonly type = "alertmanager" as const;

  constructor(
    readonly name: string,
    readonly target: AlertmanagerTarget,
    readonly world: SenderWorld,
  ) {}

  async send(message: AlertMessage, _delivery: Delivery): Promise<void> {
    const nowMs = this.world.clock.now();
    const alerts = pagerChanges(message).map((change) =>
      alertmanagerAlert(change, {
        nowMs,
        resendIntervalMs: this.target.resendIntervalMs,
        message,
        ...(message.link ? { link: message.link } : {}),
      }),
    );
    if (alerts.length > 0) await this.post(alerts);
  }

  /** Posts the still-open episodes again as firing (Alertmanager forgets alerts that are not re-sent). */
  async refresh(open: readonly EpisodeChange[], link?: string): Promise<void> {
    const nowMs = this.world.clock.now();
    const alerts = open.map((change) =>
      alertmanagerAlert(change, {
        nowMs,
        resendIntervalMs: this.target.resendIntervalMs,
        ...(link ? { link } : {}),
      }),
    );
    if (alerts.length > 0) await this.post(alerts);
  }

  /** Posts to every member; succeeds when one took it (they share alerts by gossip; the next post catches up the rest). */
  async post(alerts: readonly PostableAlert[]): Promise<void> {
    const body = JSON.stringify(alerts);
    const headers: Record<string, string> = this.target.authorization
      ? { authorization: this.target.authorization }
      : {};
    const results = await Promise.allSettled(
      this.target.urls.map((base) =>
        request(
          `${this.name} ${base}`,
          `${base.replace(/\/$/, "")}/api/v2/alerts`,
          { headers, body },
          this.world,
        ),
      ),
    );
    if (results.some((r) => r.status === "fulfilled")) return;
    const errors = results.map((r) => (r.status === "rejected" ? r.reason : undefined));
    const faults = errors.filter((e): e is DeliveryError => e instanceof DeliveryError);
    const retryable = faults.length < errors.length || faults.some((f) => f.retryable);
    const hints = faults.flatMap((f) => (f.retryAfterMs === undefined ? [] : [f.retryAfterMs]));
    throw new DeliveryError(
      `Cannot deliver to "${this.name}": every Alertmanager refused: ${faults.map((f) => f.message).join("; ")}`,
      { retryable, ...(hints.length > 0 ? { retryAfterMs: Math.min(...hints) } : {}) },
    );
  }
}
