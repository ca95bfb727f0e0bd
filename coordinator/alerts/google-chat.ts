/**
 * Google Chat incoming webhook: a `text` message threaded per service (`thread.threadKey`), so a
 * service's alerts stay together. Google answers 429 without a retry hint: the dispatcher backs off.
 */

import { type AlertMessage, plainLines, truncate } from "./message.ts";
import type { AlertSender, Delivery, SenderWorld } from "./sender.ts";
import { request } from "./sender.ts";

/** Google Chat caps a message at 32,000 bytes; the text stays far below. */
export const GOOGLE_CHAT_LIMITS = { text: 4096, bytes: 32_000 } as const;

/** The Google Chat message of an alert. */
export function googleChatPayload(message: AlertMessage): Record<string, unknown> {
  const parts = [`*[${message.severity}] ${message.title}*`];
  if (message.facts.length > 0) parts.push(message.facts.map((f) => `${f.title}: ${f.value}`).join("\n"));
  if (message.link) parts.push(`<${message.link}|Status page>`);
  // The events come last: when the text is cut, the tally and the link survive.
  parts.push(plainLines(message).join("\n"));
  return {
    text: truncate(parts.join("\n\n"), GOOGLE_CHAT_LIMITS.text),
    thread: { threadKey: `healthmesh-${message.key}` },
  };
}

/** Posts to a Google Chat webhook URL (its `key` and `token` stay in the URL). */
export class GoogleChatSender implements AlertSender {
  readonly type = "googlechat" as const;

  constructor(
    readonly name: string,
    readonly url: string,
    readonly world: SenderWorld,
  ) {}

  async send(message: AlertMessage, _delivery: Delivery): Promise<void> {
    const url = new URL(this.url);
    url.searchParams.set("messageReplyOption", "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD");
    await request(
      this.name,
      url.toString(),
      { body: JSON.stringify(googleChatPayload(message)) },
      this.world,
    );
  }
}
