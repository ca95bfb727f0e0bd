/** Mattermost incoming webhook: Markdown `text` with a facts table. */

import { type AlertMessage, plainLines, truncate } from "./message.ts";
import type { AlertSender, Delivery, SenderWorld } from "./sender.ts";
import { request } from "./sender.ts";

/** Mattermost's default post limit is 16383 characters; 4000 keeps a message readable. */
export const MATTERMOST_LIMITS = { text: 4000 } as const;

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** The Mattermost webhook payload of a message. */
export function mattermostPayload(
  message: AlertMessage,
  options: { channel?: string; username?: string } = {},
): Record<string, unknown> {
  const parts = [`#### [${message.severity}] ${message.title}`];
  if (message.facts.length > 0) {
    parts.push(
      ["| | |", "|:--|:--|", ...message.facts.map((f) => `| ${cell(f.title)} | ${cell(f.value)} |`)].join(
        "\n",
      ),
    );
  }
  if (message.link) parts.push(`[Status page](${message.link})`);
  // The events come last: when the text is cut, the tally and the link survive.
  parts.push(plainLines(message).join("\n"));
  return {
    text: truncate(parts.join("\n\n"), MATTERMOST_LIMITS.text),
    username: options.username ?? "healthmesh",
    ...(options.channel ? { channel: options.channel } : {}),
  };
}

/** Posts to a Mattermost incoming webhook URL. */
export class MattermostSender implements AlertSender {
  readonly type = "mattermost" as const;

  constructor(
    readonly name: string,
    readonly url: string,
    readonly world: SenderWorld,
    readonly options: { channel?: string; username?: string } = {},
  ) {}

  async send(message: AlertMessage, _delivery: Delivery): Promise<void> {
    const body = JSON.stringify(mattermostPayload(message, this.options));
    await request(this.name, this.url, { body }, this.world);
  }
}
