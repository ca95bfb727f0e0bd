/**
 * A generic JSON webhook signed per the Standard Webhooks spec: `webhook-id` (stable across retries),
 * `webhook-timestamp` (unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>`,
 * with the key from a `whsec_<base64>` secret, on WebCrypto only.
 */

import type { AlertMessage } from "./message.ts";
import type { AlertSender, Delivery, SenderWorld } from "./sender.ts";
import { DeliveryError, request } from "./sender.ts";

/** The spec recommends payloads under 20 KB. */
export const WEBHOOK_LIMITS = { bytes: 20_000 } as const;

/** Decodes a `whsec_<base64>` secret (the prefix is optional) into key bytes. */
export function webhookKey(secret: string): Uint8Array<ArrayBuffer> {
  const base64 = secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret;
  let binary: string;
  try {
    binary = atob(base64);
  } catch {
    throw new RangeError('Invalid webhook secret: expected "whsec_" followed by base64');
  }
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** `v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>`. */
export async function signWebhook(
  key: Uint8Array<ArrayBuffer>,
  id: string,
  timestamp: number,
  body: string,
): Promise<string> {
  const cryptoKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const mac = new Uint8Array(
    await crypto.subtle.sign("HMAC", cryptoKey, new TextEncoder().encode(`${id}.${timestamp}.${body}`)),
  );
  let binary = "";
  for (const byte of mac) binary += String.fromCharCode(byte);
  return `v1,${btoa(binary)}`;
}

/** The webhook body: `{type, timestamp, data}` with dotted `[a-zA-Z0-9_]` event type segments. */
export function webhookPayload(message: AlertMessage, nowMs: number): Record<string, unknown> {
  const data = {
    severity: message.severity,
    title: message.title,
    key: message.key,
    lines: message.lines,
    facts: message.facts,
    ...(message.service ? { service: message.service } : {}),
    ...(message.votes ? { votes: message.votes } : {}),
    ...(message.link ? { link: message.link } : {}),
    ...(message.test ? { test: true } : {}),
    ...(message.decision ? { decision: message.decision } : {}),
    events: message.events,
  };
  const body = {
    type: `healthmesh.${message.type.replace(/[^a-zA-Z0-9_.]/g, "_")}`,
    timestamp: new Date(nowMs).toISOString(),
    data,
  };
  if (new TextEncoder().encode(JSON.stringify(body)).length > WEBHOOK_LIMITS.bytes) {
    // Keep the summary; the full events stay in the audit log (`GET /v1/events`).
    return { ...body, data: { ...data, events: message.events.map((e) => ({ id: e.id, type: e.type })) } };
  }
  return body;
}

/** Posts signed JSON to a URL; `410 Gone` is permanent (the receiver asks us to stop). */
export class WebhookSender implements AlertSender {
  readonly type = "webhook" as const;
  readonly #key: Uint8Array<ArrayBuffer> | undefined;

  constructor(
    readonly name: string,
    readonly url: string,
    secret: string | undefined,
    readonly world: SenderWorld,
  ) {
    this.#key = secret === undefined ? undefined : webhookKey(secret);
  }

  async send(message: AlertMessage, delivery: Delivery): Promise<void> {
    const now = this.world.clock.now();
    // A decision's delivery id is already stable and readable; a random one loses its dashes.
    const id = message.decision ? delivery.id : `msg_${delivery.id.replace(/-/g, "")}`;
    const timestamp = Math.floor(now / 1000);
    const body = JSON.stringify(webhookPayload(message, now));
    const headers: Record<string, string> = { "webhook-id": id, "webhook-timestamp": String(timestamp) };
    if (this.#key) headers["webhook-signature"] = await signWebhook(this.#key, id, timestamp, body);
    try {
      await request(this.name, this.url, { headers, body }, this.world);
    } catch (error) {
      if (
        error instanceof DeliveryError &&
        error.status !== undefined &&
        error.status >= 300 &&
        error.status < 400
      )
        throw new DeliveryError(`${error.message} (redirects are not followed)`, {
          retryable: true,
          status: error.status,
        });
      throw error;
    }
  }
}
