/**
 * The alert sender port: one implementation per chat platform (slack.ts, discord.ts, …) turns the
 * neutral `AlertMessage` into that platform's payload and maps its answers to `DeliveryError`.
 */
import type { AlertType } from "../../shared/alert-config.ts";
import type { Clock } from "../../shared/clock.ts";
import type { AlertMessage } from "./message.ts";

/** What a sender runs with. */
export interface SenderWorld {
  fetch: typeof fetch;
  clock: Clock;
  /** Per-request timeout (ms). */
  timeoutMs?: number;
}

/** One attempt at delivering one outbox entry; `id` is stable across retries (idempotency key). */
export interface Delivery {
  id: string;
  attempt: number;
}

/** A destination that can deliver messages. */
export interface AlertSender {
  readonly name: string;
  readonly type: AlertType;
  /** Delivers one message; resolves when the platform accepted it, throws `DeliveryError` otherwise. */
  send(message: AlertMessage, delivery: Delivery): Promise<void>;
}

/** A delivery failed; `retryable` says whether to try again, `retryAfterMs` what the platform asked for. */
export class DeliveryError extends Error {
  readonly retryable: boolean;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: { retryable: boolean; status?: number; retryAfterMs?: number }) {
    super(message);
    this.name = "DeliveryError";
    this.retryable = options.retryable;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Parses an HTTP `Retry-After` header (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (!value) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** What a platform said in a refused answer: the text to show and its own retry hint, if any. */
export interface RefusalDetail {
  detail: string;
  retryAfterMs?: number;
}

/** Sends one HTTP request and returns the response when it is 2xx; throws a classified `DeliveryError` otherwise. */
export async function request(
  name: string,
  url: string,
  init: { method?: string; headers?: Record<string, string>; body: string },
  world: SenderWorld,
  refusal?: (response: Response, body: string) => RefusalDetail,
): Promise<Response> {
  let response: Response;
  // The timeout runs on the injected clock (not AbortSignal.timeout), so fake time governs it too.
  const timeoutMs = world.timeoutMs ?? 10_000;
  const controller = new AbortController();
  const cancel = world.clock.setTimer(() => controller.abort(), timeoutMs);
  try {
    response = await world.fetch(url, {
      method: init.method ?? "POST",
      headers: { "content-type": "application/json", ...init.headers },
      body: init.body,
      redirect: "manual",
      signal: controller.signal,
    });
  } catch (error) {
    if (controller.signal.aborted) {
      throw new DeliveryError(`Cannot reach "${name}": no answer within ${timeoutMs} ms`, {
        retryable: true,
      });
    }
    // fetch rejects with a TypeError whose `cause` says why (e.g. ECONNREFUSED).
    const fault = error as Error & { cause?: unknown };
    const cause = fault.cause instanceof Error ? `: ${fault.cause.message}` : "";
    throw new DeliveryError(`Cannot reach "${name}": ${fault.message}${cause}`, { retryable: true });
  } finally {
    cancel();
  }
  if (response.status >= 200 && response.status < 300) return response;
  const text = await response.text().catch(() => "");
  const parsed = refusal?.(response, text) ?? { detail: text };
  const retryAfterMs =
    parsed.retryAfterMs ?? parseRetryAfter(response.headers.get("retry-after"), world.clock.now());
  const status = response.status;
  const retryable = status === 408 || status === 429 || status >= 500;
  const what = status === 429 ? "rate limited" : `HTTP ${status}`;
  const detail = parsed.detail.trim().slice(0, 200);
  return Promise.reject(
    new DeliveryError(`Cannot deliver to "${name}": ${what}${detail ? `: ${detail}` : ""}`, {
      retryable,
      status,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    }),
  );
}

/** Reads a JSON body leniently: undefined when it is not JSON. */
export function jsonOf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Escapes `&`, `<` and `>` (Slack mrkdwn, Telegram HTML, Matrix HTML). */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
