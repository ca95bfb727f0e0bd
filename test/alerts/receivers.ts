/**
 * Loopback receivers that behave like each chat platform's incoming endpoint: they check a payload
 * against the platform's documented shape and limits (written from the platforms' docs, not from our
 * senders), answer like the platform, and can be told to answer 429 (with the platform's own retry
 * field) or 5xx for the next requests.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import type { z } from "zod";
import { type Loopback, serveLoopback } from "../../demo/origins.ts";
import {
  discordSchema,
  googleChatSchema,
  issues,
  MATRIX_TOKEN,
  matrixSchema,
  mattermostSchema,
  ntfySchema,
  parseTelegramHtml,
  slackSchema,
  TELEGRAM_TOKEN,
  teamsSchema,
  telegramSchema,
} from "./platform-schemas.ts";

export { MATRIX_TOKEN, TELEGRAM_TOKEN };

/** A request a receiver accepted. */
export interface Received {
  method: string;
  path: string;
  headers: Record<string, string>;
  raw: string;
  body: unknown;
}

/** A receiver on loopback. */
export interface Receiver extends Loopback {
  /** The URL the sender is configured with (webhook URL, homeserver, API base…). */
  target: string;
  accepted: Received[];
  /** Payloads refused as invalid, with the reason. */
  refused: { reason: string; raw: string }[];
  /** Requests seen, of every outcome. */
  hits: number;
  /** Answers the next requests with these faults, in order. */
  fail(...faults: ("429" | "500")[]): void;
  /** Forgets the faults still queued: the next request is answered normally. */
  heal(): void;
}

type Fault = "429" | "500";
type Answer = (c: Context) => Response;

interface Platform {
  method: "post" | "put";
  route: string;
  /** Path the sender is given (appended to the server URL). */
  target: string;
  check: (body: unknown, raw: string, c: Context) => string | null;
  ok: Answer;
  bad: (c: Context, reason: string) => Response;
  rateLimited: Answer;
}

const text = (body: string, status: number, headers: Record<string, string> = {}) =>
  new Response(body, { status, headers: { "content-type": "text/plain", ...headers } });
const json = (body: unknown, status: number, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

/** Options of receivers whose 429 can differ (Discord's `retry_after` unit, headers or not). */
export interface ReceiverOptions {
  /** Discord: send `retry_after` in milliseconds (seen on webhooks) instead of seconds. */
  discordMillis?: boolean;
}

function platforms(options: ReceiverOptions): Record<string, Platform> {
  const matrixSeen = new Map<string, string>();
  return {
    slack: {
      method: "post",
      route: "/services/:a/:b/:c",
      target: "/services/T000/B000/XXXX",
      check: (b) => issues(slackSchema, b),
      ok: () => text("ok", 200),
      bad: (_c, reason) => text(`invalid_blocks: ${reason}`, 400),
      rateLimited: () => text("rate_limited", 429, { "retry-after": "3" }),
    },
    discord: {
      method: "post",
      route: "/api/webhooks/:id/:token",
      target: "/api/webhooks/1234/tok",
      check: (b) => issues(discordSchema, b),
      ok: () => new Response(null, { status: 204 }),
      bad: (_c, reason) => json({ code: 50035, message: `Invalid Form Body: ${reason}` }, 400),
      rateLimited: () =>
        json(
          {
            message: "You are being rate limited.",
            retry_after: options.discordMillis ? 2500 : 2.5,
            global: false,
          },
          429,
        ),
    },
    teams: {
      method: "post",
      route: "/workflows/:id/triggers/manual/paths/invoke",
      target: "/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=s",
      check: (b, raw) => (raw.length > 28_000 ? "payload over 28 KB" : issues(teamsSchema, b)),
      ok: () => new Response(null, { status: 202 }),
      bad: (_c, reason) => json({ error: { code: "InvalidRequestContent", message: reason } }, 400),
      rateLimited: () => json({ error: { code: "WorkflowTriggerIsThrottled" } }, 429, { "retry-after": "4" }),
    },
    mattermost: {
      method: "post",
      route: "/hooks/:key",
      target: "/hooks/xxx-generatedkey-xxx",
      check: (b) => issues(mattermostSchema, b),
      ok: () => text("ok", 200),
      bad: (_c, reason) =>
        json({ id: "web.incoming_webhook.text.app_error", message: reason, status_code: 400 }, 400),
      rateLimited: () => text("limit exceeded", 429, { "retry-after": "1", "x-ratelimit-remaining": "0" }),
    },
    googlechat: {
      method: "post",
      route: "/v1/spaces/:space/messages",
      target: "/v1/spaces/AAAA/messages?key=k&token=t",
      check: (b, _raw, c) => {
        const option = c.req.query("messageReplyOption");
        if (option && !["REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD", "REPLY_MESSAGE_OR_FAIL"].includes(option))
          return `bad messageReplyOption ${option}`;
        if (!c.req.query("key") || !c.req.query("token")) return "missing key/token";
        return issues(googleChatSchema, b);
      },
      ok: () => json({ name: "spaces/AAAA/messages/1" }, 200),
      bad: (_c, reason) => json({ error: { code: 400, message: reason, status: "INVALID_ARGUMENT" } }, 400),
      rateLimited: () =>
        json(
          { error: { code: 429, message: "Resource has been exhausted", status: "RESOURCE_EXHAUSTED" } },
          429,
        ),
    },
    matrix: {
      method: "put",
      route: "/_matrix/client/v3/rooms/:room/send/m.room.message/:txn",
      target: "",
      check: (b, raw, c) => {
        if (c.req.header("authorization") !== `Bearer ${MATRIX_TOKEN}`) return "M_UNKNOWN_TOKEN";
        if (!(c.req.param("room") ?? "").startsWith("!")) return "bad room id";
        if (new TextEncoder().encode(raw).length > 65_536) return "M_TOO_LARGE";
        return issues(matrixSchema, b);
      },
      ok: (c) => {
        const txn = c.req.param("txn") ?? "";
        const eventId = matrixSeen.get(txn) ?? `$event${matrixSeen.size + 1}`;
        matrixSeen.set(txn, eventId);
        return json({ event_id: eventId }, 200);
      },
      bad: (_c, reason) => json({ errcode: "M_BAD_JSON", error: reason }, 400),
      rateLimited: () =>
        json({ errcode: "M_LIMIT_EXCEEDED", error: "Too many requests", retry_after_ms: 1500 }, 429),
    },
    ntfy: {
      method: "post",
      route: "/",
      target: "/hm-alerts",
      check: (b) => issues(ntfySchema, b),
      ok: () => json({ id: "abc", time: 1, event: "message", topic: "hm-alerts" }, 200),
      bad: (_c, reason) => json({ code: 40001, http: 400, error: reason }, 400),
      rateLimited: () =>
        json({ code: 42901, http: 429, error: "limit reached: too many requests" }, 429, {
          "retry-after": "5",
        }),
    },
    telegram: {
      method: "post",
      route: "/:bot/sendMessage",
      target: "",
      check: (b, _raw, c) => {
        if (c.req.param("bot") !== `bot${TELEGRAM_TOKEN}`) return "Unauthorized";
        const shape = issues(telegramSchema, b);
        if (shape) return shape;
        const { text: t, parse_mode } = b as z.infer<typeof telegramSchema>; // checked by the schema just above
        const visible = parse_mode === "HTML" ? parseTelegramHtml(t) : { text: t };
        if ("error" in visible) return `can't parse entities: ${visible.error}`;
        return visible.text.length > 4096 ? "message is too long" : null;
      },
      ok: () => json({ ok: true, result: { message_id: 1 } }, 200),
      bad: (_c, reason) => json({ ok: false, error_code: 400, description: `Bad Request: ${reason}` }, 400),
      rateLimited: () =>
        json(
          {
            ok: false,
            error_code: 429,
            description: "Too Many Requests: retry after 7",
            parameters: { retry_after: 7 },
          },
          429,
        ),
    },
    webhook: {
      method: "post",
      route: "/hook",
      target: "/hook",
      check: (b) => (typeof b === "object" && b !== null ? null : "not JSON"),
      ok: () => text("", 200),
      bad: (_c, reason) => text(reason, 400),
      rateLimited: () => text("slow down", 429, { "retry-after": "2" }),
    },
  };
}

/** Starts a receiver that behaves like `platform`. */
export async function startReceiver(platform: string, options: ReceiverOptions = {}): Promise<Receiver> {
  const spec = platforms(options)[platform];
  if (!spec) throw new Error(`No receiver for "${platform}"`);
  const state = {
    accepted: [] as Received[],
    refused: [] as Receiver["refused"],
    hits: 0,
    faults: [] as Fault[],
  };
  const app = new Hono();
  app.on(spec.method.toUpperCase(), spec.route, async (c) => {
    state.hits++;
    const raw = await c.req.text();
    const fault = state.faults.shift();
    if (fault === "429") return spec.rateLimited(c);
    if (fault === "500") return text("upstream error", 500);
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      state.refused.push({ reason: "not JSON", raw });
      return spec.bad(c, "not JSON");
    }
    const reason = spec.check(body, raw, c);
    if (reason) {
      state.refused.push({ reason, raw });
      return spec.bad(c, reason);
    }
    state.accepted.push({
      method: c.req.method,
      path: c.req.path,
      headers: Object.fromEntries(c.req.raw.headers),
      raw,
      body,
    });
    return spec.ok(c);
  });
  const server = await serveLoopback(app);
  return {
    ...server,
    target: `${server.url}${spec.target}`,
    accepted: state.accepted,
    refused: state.refused,
    get hits() {
      return state.hits;
    },
    fail: (...faults: Fault[]) => {
      state.faults.push(...faults);
    },
    heal: () => {
      state.faults.length = 0;
    },
  };
}

/** A fake fetch that answers from `answer` and records every request (unit tier, no socket). */
export function recordingFetch(answer: (n: number) => Response = () => new Response("ok")) {
  const calls: { url: string; body: string }[] = [];
  const fn: typeof fetch = async (input, init) => {
    calls.push({ url: String(input), body: String(init?.body ?? "") });
    return answer(calls.length);
  };
  return { fetch: fn, calls };
}
