/**
 * Telegram Bot API `sendMessage` with `parse_mode: "HTML"` (only `&`, `<`, `>` need escaping, unlike
 * MarkdownV2). A 429 carries `parameters.retry_after` in seconds.
 */

import { type AlertMessage, plainLines, truncate } from "./message.ts";
import type { AlertSender, Delivery, RefusalDetail, SenderWorld } from "./sender.ts";
import { escapeHtml, jsonOf, request } from "./sender.ts";

/** Telegram's text limit (after entity parsing). */
export const TELEGRAM_LIMITS = { text: 4096 } as const;

/** The HTML text of an alert, at most 4096 characters including markup. */
export function telegramText(message: AlertMessage): string {
  const head = `<b>[${escapeHtml(message.severity)}] ${escapeHtml(message.title)}</b>`;
  const facts = message.facts.map((f) => `<b>${escapeHtml(f.title)}</b>: ${escapeHtml(f.value)}`).join("\n");
  const link = message.link ? `<a href="${escapeHtml(message.link)}">Status page</a>` : "";
  const fixed = [head, facts, link].filter(Boolean).join("\n\n").length + 4;
  // Cut the raw lines before escaping so an entity such as &amp; is never split.
  let raw = plainLines(message).join("\n");
  let body = escapeHtml(raw);
  while (body.length > Math.max(0, TELEGRAM_LIMITS.text - fixed)) {
    raw = truncate(raw, Math.floor(raw.length * 0.9));
    body = escapeHtml(raw);
  }
  return [head, body, facts, link].filter(Boolean).join("\n\n");
}

/** Reads a Bot API refusal: `{ok:false, error_code, description, parameters:{retry_after}}`. */
export function telegramRefusal(_response: Response, body: string): RefusalDetail {
  const parsed = jsonOf(body) as
    | { description?: unknown; parameters?: { retry_after?: unknown } }
    | undefined; // type-checked below
  const detail = typeof parsed?.description === "string" ? parsed.description : body;
  const seconds = parsed?.parameters?.retry_after;
  return { detail, ...(typeof seconds === "number" && seconds >= 0 ? { retryAfterMs: seconds * 1000 } : {}) };
}

/** Sends to one Telegram chat (and forum topic) as a bot. */
export class TelegramSender implements AlertSender {
  readonly type = "telegram" as const;

  constructor(
    readonly name: string,
    readonly target: { apiBase: string; token: string; chatId: string | number; threadId?: number },
    readonly world: SenderWorld,
  ) {}

  async send(message: AlertMessage, _delivery: Delivery): Promise<void> {
    const url = `${this.target.apiBase.replace(/\/$/, "")}/bot${this.target.token}/sendMessage`;
    const payload = {
      chat_id: this.target.chatId,
      text: telegramText(message),
      parse_mode: "HTML",
      link_preview_options: { is_disabled: true },
      ...(this.target.threadId !== undefined ? { message_thread_id: this.target.threadId } : {}),
    };
    // The URL carries the bot token: name the destination, never the URL, in errors.
    await request(this.name, url, { body: JSON.stringify(payload) }, this.world, telegramRefusal);
  }
}
