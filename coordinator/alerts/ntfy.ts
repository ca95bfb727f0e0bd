/** ntfy: JSON publishing (`POST` to the server root with `topic`), priority from severity, Markdown body. */

import { type AlertMessage, plainLines, truncate } from "./message.ts";
import type { AlertSender, Delivery, SenderWorld } from "./sender.ts";
import { request } from "./sender.ts";

/** ntfy turns messages over 4096 bytes into attachments; titles are kept short. */
export const NTFY_LIMITS = { messageBytes: 4096, title: 200 } as const;

const PRIORITY = { critical: 5, warning: 4, info: 3 } as const;
const TAGS = { critical: ["rotating_light"], warning: ["warning"], info: ["information_source"] } as const;

/** Splits a topic URL such as `https://ntfy.sh/alerts` into the publish URL and the topic. */
export function ntfyTarget(topicUrl: string): { url: string; topic: string } {
  const url = new URL(topicUrl);
  const segments = url.pathname.split("/").filter(Boolean);
  const topic = segments.pop();
  if (!topic)
    throw new RangeError(`Invalid ntfy topic URL "${url.origin}${url.pathname}": it names no topic`);
  return { url: `${url.origin}/${segments.map((s) => `${s}/`).join("")}`, topic: decodeURIComponent(topic) };
}

function byteTruncate(text: string, maxBytes: number): string {
  const encoder = new TextEncoder();
  let out = text;
  while (encoder.encode(out).length > maxBytes) out = truncate(out, Math.floor(out.length * 0.9));
  return out;
}

/** The ntfy JSON publish body of an alert. */
export function ntfyPayload(message: AlertMessage, topic: string): Record<string, unknown> {
  const parts: string[] = [];
  if (message.facts.length > 0) parts.push(message.facts.map((f) => `**${f.title}**: ${f.value}`).join("\n"));
  // The events come last: when the text is cut, the tally survives.
  parts.push(plainLines(message).join("\n"));
  return {
    topic,
    title: truncate(message.title, NTFY_LIMITS.title),
    message: byteTruncate(parts.join("\n\n"), NTFY_LIMITS.messageBytes),
    priority: PRIORITY[message.severity],
    tags: [...TAGS[message.severity]],
    markdown: true,
    ...(message.link ? { click: message.link } : {}),
  };
}

/** Publishes to one ntfy topic, with an access token when configured. */
export class NtfySender implements AlertSender {
  readonly type = "ntfy" as const;
  readonly #target: { url: string; topic: string };

  constructor(
    readonly name: string,
    topicUrl: string,
    readonly token: string | undefined,
    readonly world: SenderWorld,
  ) {
    this.#target = ntfyTarget(topicUrl);
  }

  async send(message: AlertMessage, _delivery: Delivery): Promise<void> {
    const headers: Record<string, string> = this.token ? { authorization: `Bearer ${this.token}` } : {};
    const body = JSON.stringify(ntfyPayload(message, this.#target.topic));
    await request(this.name, this.#target.url, { headers, body }, this.world);
  }
}
