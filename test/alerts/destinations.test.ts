import { afterEach, describe, expect, it } from "vitest";
import { createDestinations } from "../../coordinator/alerts/factory.ts";
import { type AlertMessage, formatMessage } from "../../coordinator/alerts/message.ts";
import { type AlertSender, DeliveryError } from "../../coordinator/alerts/sender.ts";
import type { AuditEvent } from "../../coordinator/store/store.ts";
import { systemClock } from "../../shared/clock.ts";
import { configFromObject } from "../../shared/config.ts";
import { configObject } from "../helpers.ts";
import { MATRIX_TOKEN, type Receiver, startReceiver, TELEGRAM_TOKEN } from "./receivers.ts";

/** Each platform: its alert config entry and env, given the receiver's target URL. */
const PLATFORMS: Record<
  string,
  {
    alert: (url: string) => Record<string, unknown>;
    env: (url: string) => Record<string, string>;
    retryAfterMs: number | null;
  }
> = {
  slack: {
    alert: () => ({ type: "slack", urlEnv: "HOOK" }),
    env: (url) => ({ HOOK: url }),
    retryAfterMs: 3000,
  },
  discord: {
    alert: () => ({ type: "discord", urlEnv: "HOOK" }),
    env: (url) => ({ HOOK: url }),
    retryAfterMs: 2500,
  },
  teams: {
    alert: () => ({ type: "teams", urlEnv: "HOOK" }),
    env: (url) => ({ HOOK: url }),
    retryAfterMs: 4000,
  },
  mattermost: {
    alert: () => ({ type: "mattermost", urlEnv: "HOOK", channel: "ops" }),
    env: (url) => ({ HOOK: url }),
    retryAfterMs: 1000,
  },
  googlechat: {
    alert: () => ({ type: "googlechat", urlEnv: "HOOK" }),
    env: (url) => ({ HOOK: url }),
    retryAfterMs: null,
  },
  matrix: {
    alert: (url) => ({ type: "matrix", homeserver: url, room: "!room:example.org", tokenEnv: "MX" }),
    env: () => ({ MX: MATRIX_TOKEN }),
    retryAfterMs: 1500,
  },
  ntfy: {
    alert: () => ({ type: "ntfy", urlEnv: "HOOK" }),
    env: (url) => ({ HOOK: url }),
    retryAfterMs: 5000,
  },
  telegram: {
    alert: (url) => ({ type: "telegram", tokenEnv: "TG", chatId: -100123, apiBase: url }),
    env: () => ({ TG: TELEGRAM_TOKEN }),
    retryAfterMs: 7000,
  },
  webhook: {
    alert: () => ({ type: "webhook", urlEnv: "HOOK", secretEnv: "WHSEC" }),
    env: (url) => ({ HOOK: url, WHSEC: `whsec_${btoa("0123456789abcdef0123456789abcdef")}` }),
    retryAfterMs: 2000,
  },
};

const config = configFromObject({
  ...configObject(),
  coordinator: { publicUrl: "https://status.example.com" },
});

function event(id: number, type: string, message: string, extra: Partial<AuditEvent> = {}): AuditEvent {
  return {
    id,
    at: new Date(Date.UTC(2026, 0, 1, 3, 0, id)).toISOString(),
    type,
    service: "web",
    message,
    ...extra,
  };
}

/** A failover with its DNS writes, plus events whose text is long and full of characters each format must escape. */
function bigMessage(): AlertMessage {
  const votes = { primary: { down: 2, up: 1, abstain: 0 }, secondary: { down: 0, up: 3, abstain: 0 } };
  const events = [
    event(1, "failover", 'Failing over "web" from primary to secondary: primary down (2 down, 1 up)', {
      from: "primary",
      to: "secondary",
      votes,
    }),
  ];
  for (let i = 2; i < 120; i++) {
    events.push(
      event(
        i,
        "dns.error",
        `Cannot write <web-router> & "cdn2" on desec_${i}: *bold* _it_ [x](y) ~ \` > # + - = | { } . ! ${"x".repeat(60)}`,
        { provider: "desec" },
      ),
    );
  }
  return formatMessage("web", events, config);
}

async function setUp(
  platform: string,
  options: { discordMillis?: boolean } = {},
): Promise<{ receiver: Receiver; sender: AlertSender }> {
  const receiver = await startReceiver(platform, options);
  const spec = PLATFORMS[platform];
  if (!spec) throw new Error(`no spec for ${platform}`);
  const cfg = configFromObject({ ...configObject(), alerts: [spec.alert(receiver.target)] });
  const env = spec.env(receiver.target);
  const [destination] = createDestinations(cfg, {
    env: (n) => env[n],
    world: { fetch, clock: systemClock() },
  });
  if (!destination?.ok)
    throw new Error(`cannot build ${platform}: ${destination?.ok === false ? destination.message : "none"}`);
  return { receiver, sender: destination.sender };
}

const open: Receiver[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.close()));
});

describe.each(Object.keys(PLATFORMS))("%s destination", (platform) => {
  it("delivers a long failover message that the platform accepts within its documented limits", async () => {
    const { receiver, sender } = await setUp(platform);
    open.push(receiver);
    await sender.send(bigMessage(), { id: "0b6f4a52-1111-4222-8333-944445555666", attempt: 1 });
    expect(receiver.refused).toEqual([]);
    expect(receiver.accepted).toHaveLength(1);
    const raw = receiver.accepted[0]?.raw ?? "";
    expect(raw).toContain("web");
    expect(raw).toMatch(/2 down, 1 up, 0 abstain/);
  });

  it("reports a 429 as retryable with the platform's own retry hint", async () => {
    const { receiver, sender } = await setUp(platform);
    open.push(receiver);
    receiver.fail("429");
    const error = await sender.send(bigMessage(), { id: "d1", attempt: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    const fault = error as DeliveryError; // asserted just above
    expect(fault.retryable).toBe(true);
    expect(fault.status).toBe(429);
    const expected = PLATFORMS[platform]?.retryAfterMs;
    if (expected === null) expect(fault.retryAfterMs).toBeUndefined();
    else expect(fault.retryAfterMs).toBe(expected);
  });

  it("reports a 5xx as retryable, and still sends a valid payload for a message with an empty title", async () => {
    const { receiver, sender } = await setUp(platform);
    open.push(receiver);
    receiver.fail("500");
    const error = await sender.send(bigMessage(), { id: "d2", attempt: 1 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ retryable: true, status: 500 });
    const broken = { ...bigMessage(), title: "" };
    // An empty title still leaves a valid payload on every platform: the message is never empty.
    await expect(sender.send(broken, { id: "d3", attempt: 1 })).resolves.toBeUndefined();
  });
});

describe("platform quirks", () => {
  it("reads Discord's retry_after in milliseconds when a webhook sends it that way", async () => {
    const { receiver, sender } = await setUp("discord", { discordMillis: true });
    open.push(receiver);
    receiver.fail("429");
    const error = await sender.send(bigMessage(), { id: "d", attempt: 1 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ retryAfterMs: 2500 });
  });

  it("Matrix reuses the delivery id as txnId on a retry, so the homeserver can drop the duplicate", async () => {
    const { receiver, sender } = await setUp("matrix");
    open.push(receiver);
    await sender.send(bigMessage(), { id: "same-delivery", attempt: 1 });
    await sender.send(bigMessage(), { id: "same-delivery", attempt: 2 });
    expect(receiver.accepted.map((r) => r.path)).toEqual([
      "/_matrix/client/v3/rooms/!room%3Aexample.org/send/m.room.message/same-delivery",
      "/_matrix/client/v3/rooms/!room%3Aexample.org/send/m.room.message/same-delivery",
    ]);
  });

  it("Telegram text escapes <, > and & for HTML parse mode and stays within 4096 characters", async () => {
    const { receiver, sender } = await setUp("telegram");
    open.push(receiver);
    await sender.send(bigMessage(), { id: "t", attempt: 1 });
    const body = receiver.accepted[0]?.body as { text: string; parse_mode: string }; // accepted by the schema
    expect(body.parse_mode).toBe("HTML");
    expect(body.text.length).toBeLessThanOrEqual(4096);
    expect(body.text).toContain("&lt;web-router&gt; &amp; ");
  });

  it("Teams sends an Adaptive Card 1.4 with the vote tally as facts and a status page action", async () => {
    const { receiver, sender } = await setUp("teams");
    open.push(receiver);
    await sender.send(bigMessage(), { id: "t", attempt: 1 });
    const payload = receiver.accepted[0]?.body as
      | { attachments: { content: Record<string, unknown> }[] }
      | undefined; // accepted by the schema
    const card = payload?.attachments[0]?.content;
    expect(card?.version).toBe("1.4");
    expect(JSON.stringify(card?.body)).toContain('"title":"Primary votes","value":"2 down, 1 up, 0 abstain"');
    expect(card?.actions).toEqual([
      { type: "Action.OpenUrl", title: "Status page", url: "https://status.example.com" },
    ]);
  });

  it("Slack keeps the section text within 3000 characters and links the status page", async () => {
    const { receiver, sender } = await setUp("slack");
    open.push(receiver);
    await sender.send(bigMessage(), { id: "s", attempt: 1 });
    const raw = receiver.accepted[0]?.raw ?? "";
    expect(raw).toContain("<https://status.example.com|Status page>");
    const body = JSON.parse(raw) as {
      attachments: { blocks: { type: string; text?: { text: string } }[] }[];
    };
    const section = body.attachments[0]?.blocks.find((b) => b.type === "section" && b.text);
    expect(section?.text?.text.length).toBe(3000);
  });
});
