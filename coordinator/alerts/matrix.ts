/**
 * Matrix client-server API: `PUT /_matrix/client/v3/rooms/{room}/send/m.room.message/{txnId}`. The
 * txnId is the outbox delivery id, so a retry after a lost answer cannot post twice.
 */

import { type AlertMessage, plainLines, truncate } from "./message.ts";
import type { AlertSender, Delivery, RefusalDetail, SenderWorld } from "./sender.ts";
import { escapeHtml, jsonOf, request } from "./sender.ts";

/** Matrix events are capped at 65,536 bytes; the text stays far below. */
export const MATRIX_LIMITS = { body: 16_000 } as const;

/** The `m.room.message` content of an alert: an `m.notice` with an HTML body and a plain fallback. */
export function matrixContent(message: AlertMessage): Record<string, unknown> {
  const lines = plainLines(message);
  // The events come last: when the text is cut, the tally and the link survive.
  const plain = [
    `[${message.severity}] ${message.title}`,
    ...message.facts.map((f) => `${f.title}: ${f.value}`),
  ];
  if (message.link) plain.push(`Status page: ${message.link}`);
  plain.push(...lines);
  const facts = message.facts
    .map((f) => `<li><b>${escapeHtml(f.title)}</b>: ${escapeHtml(f.value)}</li>`)
    .join("");
  const html = [
    `<b>[${escapeHtml(message.severity)}] ${escapeHtml(message.title)}</b>`,
    facts ? `<ul>${facts}</ul>` : "",
    message.link ? `<a href="${escapeHtml(message.link)}">Status page</a>` : "",
    // Cut the raw text before escaping, so no tag or entity is ever split.
    escapeHtml(truncate(lines.join("\n"), MATRIX_LIMITS.body / 2)).replace(/\n/g, "<br/>"),
  ].filter(Boolean);
  return {
    msgtype: "m.notice",
    body: truncate(plain.join("\n"), MATRIX_LIMITS.body),
    format: "org.matrix.custom.html",
    formatted_body: html.join("<br/>"),
  };
}

/** Reads Matrix's `M_LIMIT_EXCEEDED` answer: `retry_after_ms` in the body. */
export function matrixRefusal(_response: Response, body: string): RefusalDetail {
  const parsed = jsonOf(body) as { errcode?: unknown; error?: unknown; retry_after_ms?: unknown } | undefined; // type-checked below
  const detail = [parsed?.errcode, parsed?.error].filter((v) => typeof v === "string").join(": ") || body;
  const ms = parsed?.retry_after_ms;
  return { detail, ...(typeof ms === "number" && ms >= 0 ? { retryAfterMs: ms } : {}) };
}

/** Sends to one Matrix room as the user of the access token. */
export class MatrixSender implements AlertSender {
  readonly type = "matrix" as const;

  constructor(
    readonly name: string,
    readonly target: { homeserver: string; room: string; token: string },
    readonly world: SenderWorld,
  ) {}

  async send(message: AlertMessage, delivery: Delivery): Promise<void> {
    const base = this.target.homeserver.replace(/\/$/, "");
    const url = `${base}/_matrix/client/v3/rooms/${encodeURIComponent(this.target.room)}/send/m.room.message/${encodeURIComponent(delivery.id)}`;
    const init = {
      method: "PUT",
      headers: { authorization: `Bearer ${this.target.token}` },
      body: JSON.stringify(matrixContent(message)),
    };
    await request(this.name, url, init, this.world, matrixRefusal);
  }
}
