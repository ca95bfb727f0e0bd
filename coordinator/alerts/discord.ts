/** Discord webhook: one embed with fields, content as the notification line; 429 carries `retry_after`. */

import { type AlertMessage, plainLines, truncate } from "./message.ts";
import type { AlertSender, Delivery, RefusalDetail, SenderWorld } from "./sender.ts";
import { jsonOf, parseRetryAfter, request } from "./sender.ts";

/** Discord's documented message and embed limits. */
export const DISCORD_LIMITS = {
  content: 2000,
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footer: 2048,
  embedsTotal: 6000,
} as const;

const COLOR = { critical: 0xd0021b, warning: 0xf5a623, info: 0x4a90e2 } as const;

/** The Discord webhook payload of a message, within every limit (the embed total counts title, description, fields, footer). */
export function discordPayload(message: AlertMessage): Record<string, unknown> {
  const title = truncate(message.title, DISCORD_LIMITS.title);
  const fields = message.facts.slice(0, DISCORD_LIMITS.fields).map((fact) => ({
    name: truncate(fact.title, DISCORD_LIMITS.fieldName),
    value: truncate(fact.value || "-", DISCORD_LIMITS.fieldValue),
    inline: true,
  }));
  const footer = message.test ? "healthmesh alert test" : `healthmesh · ${message.severity}`;
  const used = title.length + footer.length + fields.reduce((n, f) => n + f.name.length + f.value.length, 0);
  const budget = Math.min(DISCORD_LIMITS.description, DISCORD_LIMITS.embedsTotal - used);
  const description = truncate(plainLines(message).join("\n"), Math.max(0, budget));
  return {
    content: truncate(`**[${message.severity}]** ${message.title}`, DISCORD_LIMITS.content),
    allowed_mentions: { parse: [] },
    embeds: [
      {
        title,
        description,
        color: COLOR[message.severity],
        fields,
        footer: { text: footer },
        timestamp: message.lines.at(-1)?.at,
        ...(message.link ? { url: message.link } : {}),
      },
    ],
  };
}

/**
 * Discord documents `retry_after` in seconds (a float) but has been seen sending milliseconds on
 * webhooks; values above 300 (five minutes as seconds) are therefore read as milliseconds. Headers win when present.
 */
export function discordRetryAfter(response: Response, body: string, nowMs: number): number | undefined {
  const header = parseRetryAfter(response.headers.get("retry-after"), nowMs);
  if (header !== undefined) return header;
  const resetAfter = Number(response.headers.get("x-ratelimit-reset-after"));
  if (response.headers.has("x-ratelimit-reset-after") && Number.isFinite(resetAfter))
    return Math.round(resetAfter * 1000);
  const parsed = jsonOf(body) as { retry_after?: unknown } | undefined; // only read, and type-checked below
  const value = parsed?.retry_after;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) return undefined;
  return value > 300 ? Math.round(value) : Math.round(value * 1000);
}

/** Posts to a Discord webhook URL. */
export class DiscordSender implements AlertSender {
  readonly type = "discord" as const;

  constructor(
    readonly name: string,
    readonly url: string,
    readonly world: SenderWorld,
  ) {}

  async send(message: AlertMessage, _delivery: Delivery): Promise<void> {
    const refusal = (response: Response, body: string): RefusalDetail => {
      const retryAfterMs = discordRetryAfter(response, body, this.world.clock.now());
      const parsed = jsonOf(body) as { message?: unknown } | undefined; // only read, and type-checked below
      const detail = typeof parsed?.message === "string" ? parsed.message : body;
      return { detail, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
    };
    await request(
      this.name,
      this.url,
      { body: JSON.stringify(discordPayload(message)) },
      this.world,
      refusal,
    );
  }
}
