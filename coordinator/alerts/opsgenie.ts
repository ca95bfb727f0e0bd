/**
 * Opsgenie Alert API v2: `POST /v2/alerts` with the episode's id as `alias` (Opsgenie keeps one open
 * alert per alias and counts repeats on it) and `POST /v2/alerts/{alias}/close?identifierType=alias`
 * when the episode ends. Auth is `Authorization: GenieKey KEY`; the EU instance has its own base URL.
 * Valid requests get 202 (processed later); refusals are `{message, errors?, took, requestId}`; a
 * throttled request gets 429 with `X-RateLimit-Period-In-Sec`, the period whose budget is spent.
 */
import type { Severity } from "../../shared/alert-config.ts";
import type { EpisodeChange } from "./episodes.ts";
import { type AlertMessage, plainLines, truncate } from "./message.ts";
import { headline, pagerChanges, pagerDetails } from "./pager.ts";
import type { AlertSender, Delivery, RefusalDetail, SenderWorld } from "./sender.ts";
import { jsonOf, request } from "./sender.ts";

/** Opsgenie's API bases per instance. */
export const OPSGENIE_BASES = { us: "https://api.opsgenie.com", eu: "https://api.eu.opsgenie.com" } as const;

/** Opsgenie's field limits. */
export const OPSGENIE_LIMITS = { message: 130, alias: 512, description: 15_000, note: 25_000 } as const;

const PRIORITY: Record<Severity, "P1" | "P3" | "P5"> = { critical: "P1", warning: "P3", info: "P5" };

/** The create-alert body for an episode that opens. */
export function opsgenieAlert(message: AlertMessage, change: EpisodeChange) {
  const description = [
    headline(change),
    "",
    ...plainLines(message),
    ...(message.link ? ["", message.link] : []),
  ];
  return {
    message: truncate(headline(change), OPSGENIE_LIMITS.message),
    alias: truncate(change.id, OPSGENIE_LIMITS.alias),
    description: truncate(description.join("\n"), OPSGENIE_LIMITS.description),
    details: pagerDetails(message, change),
    ...(change.service ? { entity: change.service } : {}),
    source: "healthmesh",
    priority: PRIORITY[change.severity],
    tags: ["healthmesh", change.kind, ...(change.zone ? [change.zone] : [])],
  };
}

/** Reads an Opsgenie refusal; a throttled answer's period header is its retry hint. */
export function opsgenieRefusal(response: Response, body: string): RefusalDetail {
  const parsed = jsonOf(body) as { message?: unknown; errors?: unknown } | undefined; // checked below
  let detail = typeof parsed?.message === "string" ? parsed.message : body;
  if (parsed?.errors && typeof parsed.errors === "object") {
    const fields = Object.entries(parsed.errors).map(([k, v]) => `${k}: ${String(v)}`);
    if (fields.length > 0) detail = `${detail} (${fields.join("; ")})`;
  }
  const period = Number(response.headers.get("x-ratelimit-period-in-sec"));
  const throttled = response.status === 429 && Number.isFinite(period) && period > 0;
  return { detail, ...(throttled ? { retryAfterMs: period * 1000 } : {}) };
}

/** Creates and closes Opsgenie alerts through one API integration. */
export class OpsgenieSender implements AlertSender {
  readonly type = "opsgenie" as const;

  constructor(
    readonly name: string,
    readonly target: { apiBase: string; apiKey: string },
    readonly world: SenderWorld,
  ) {}

  async send(message: AlertMessage, _delivery: Delivery): Promise<void> {
    const base = `${this.target.apiBase.replace(/\/$/, "")}/v2/alerts`;
    const headers = { authorization: `GenieKey ${this.target.apiKey}` };
    for (const change of pagerChanges(message)) {
      const alias = truncate(change.id, OPSGENIE_LIMITS.alias);
      const [url, payload] =
        change.action === "open"
          ? [base, opsgenieAlert(message, change)]
          : [
              `${base}/${encodeURIComponent(alias)}/close?identifierType=alias`,
              { source: "healthmesh", note: truncate(headline(change), OPSGENIE_LIMITS.note) },
            ];
      await request(this.name, url, { headers, body: JSON.stringify(payload) }, this.world, opsgenieRefusal);
    }
  }
}
