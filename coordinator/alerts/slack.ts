/** Slack incoming webhook: Block Kit blocks (header, section, fields, context) with a plain-text fallback. */

import { type AlertMessage, plainLines, truncate } from "./message.ts";
import type { AlertSender, Delivery, SenderWorld } from "./sender.ts";
import { escapeHtml, request } from "./sender.ts";

/** Slack's Block Kit limits: header text 150, section text 3000, 10 fields of 2000 each. */
export const SLACK_LIMITS = { header: 150, section: 3000, fields: 10, field: 2000, text: 3000 } as const;

const COLOR = { critical: "#d0021b", warning: "#f5a623", info: "#4a90e2" } as const;

/** The Slack payload of a message (also used by Mattermost's Slack-compatible attachments). */
export function slackPayload(message: AlertMessage): Record<string, unknown> {
  const body = truncate(plainLines(message).map(escapeHtml).join("\n"), SLACK_LIMITS.section);
  const blocks: Record<string, unknown>[] = [
    {
      type: "header",
      text: { type: "plain_text", text: truncate(message.title || "healthmesh alert", SLACK_LIMITS.header) },
    },
    { type: "section", text: { type: "mrkdwn", text: body } },
  ];
  if (message.facts.length > 0) {
    blocks.push({
      type: "section",
      fields: message.facts.slice(0, SLACK_LIMITS.fields).map((fact) => ({
        type: "mrkdwn",
        text: truncate(`*${escapeHtml(fact.title)}*\n${escapeHtml(fact.value)}`, SLACK_LIMITS.field),
      })),
    });
  }
  if (message.link) {
    blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: `<${message.link}|Status page>` }] });
  }
  return {
    text: truncate(`[${message.severity}] ${message.title}`, SLACK_LIMITS.text),
    attachments: [{ color: COLOR[message.severity], blocks }],
  };
}

/** Posts to a Slack incoming webhook URL; Slack answers `ok`, or 429 with `Retry-After`. */
export class SlackSender implements AlertSender {
  readonly type = "slack" as const;

  constructor(
    readonly name: string,
    readonly url: string,
    readonly world: SenderWorld,
  ) {}

  async send(message: AlertMessage, _delivery: Delivery): Promise<void> {
    await request(this.name, this.url, { body: JSON.stringify(slackPayload(message)) }, this.world);
  }
}
