/**
 * Microsoft Teams through a Workflows webhook ("When a Teams webhook request is received"): an
 * Adaptive Card 1.4 in the `message` envelope; Workflows accept Adaptive Cards only.
 */

import { type AlertMessage, plainLines, truncate } from "./message.ts";
import type { AlertSender, Delivery, SenderWorld } from "./sender.ts";
import { request } from "./sender.ts";

/** Teams rejects messages over about 28 KB; the card text is kept well below. */
export const TEAMS_LIMITS = { payloadBytes: 28_000, text: 4000 } as const;

const COLOR = { critical: "Attention", warning: "Warning", info: "Accent" } as const;

/** The Workflows envelope with one Adaptive Card 1.4. */
export function teamsPayload(message: AlertMessage): Record<string, unknown> {
  const body: Record<string, unknown>[] = [
    {
      type: "TextBlock",
      text: truncate(message.title, 400),
      weight: "Bolder",
      size: "Medium",
      color: COLOR[message.severity],
      wrap: true,
    },
    { type: "TextBlock", text: truncate(plainLines(message).join("\n\n"), TEAMS_LIMITS.text), wrap: true },
  ];
  if (message.facts.length > 0) {
    body.push({ type: "FactSet", facts: message.facts.map((f) => ({ title: f.title, value: f.value })) });
  }
  const card: Record<string, unknown> = {
    $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
    type: "AdaptiveCard",
    version: "1.4",
    body,
    msteams: { width: "full" },
  };
  if (message.link) card.actions = [{ type: "Action.OpenUrl", title: "Status page", url: message.link }];
  return {
    type: "message",
    attachments: [
      { contentType: "application/vnd.microsoft.card.adaptive", contentUrl: null, content: card },
    ],
  };
}

/** Posts to a Teams Workflows webhook URL; success is 200 or 202. */
export class TeamsSender implements AlertSender {
  readonly type = "teams" as const;

  constructor(
    readonly name: string,
    readonly url: string,
    readonly world: SenderWorld,
  ) {}

  async send(message: AlertMessage, _delivery: Delivery): Promise<void> {
    await request(this.name, this.url, { body: JSON.stringify(teamsPayload(message)) }, this.world);
  }
}
