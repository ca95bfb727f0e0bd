/**
 * The generic webhook's Standard Webhooks signature, checked by a verifier written here from the
 * spec with node:crypto (not with the sender's WebCrypto code), plus the spec's published test vector.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { formatMessage } from "../../coordinator/alerts/message.ts";
import { signWebhook, WebhookSender, webhookKey } from "../../coordinator/alerts/webhook.ts";
import { ManualClock } from "../../shared/clock.ts";
import { configFromObject } from "../../shared/config.ts";
import { configObject } from "../helpers.ts";
import { type Receiver, startReceiver } from "./receivers.ts";

/** Spec §"Verifying": HMAC-SHA256 over `id.timestamp.body` with the base64 key after `whsec_`, any `v1,` entry may match. */
function verify(
  secret: string,
  headers: Record<string, string>,
  body: string,
  nowSeconds: number,
): string | null {
  const id = headers["webhook-id"];
  const timestamp = headers["webhook-timestamp"];
  const signatures = headers["webhook-signature"];
  if (!id || !timestamp || !signatures) return "missing headers";
  if (!/^\d+$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > 300)
    return "timestamp outside tolerance";
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest();
  for (const entry of signatures.split(" ")) {
    const [version, value] = entry.split(",");
    if (version !== "v1" || !value) continue;
    const given = Buffer.from(value, "base64");
    if (given.length === expected.length && timingSafeEqual(given, expected)) return null;
  }
  return "no matching signature";
}

const SECRET = `whsec_${Buffer.from("healthmesh-test-key-32-bytes-long!").toString("base64")}`;
const config = configFromObject(configObject());
const message = formatMessage(
  "web",
  [
    {
      id: 7,
      at: "2026-01-01T00:00:00.000Z",
      type: "failover",
      service: "web",
      from: "primary",
      to: "secondary",
      votes: { primary: { down: 3, up: 0, abstain: 0 }, secondary: { down: 0, up: 3, abstain: 0 } },
      message: 'Failing over "web" — ünïcödé ✓',
    },
  ],
  config,
);

const open: Receiver[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.close()));
});

describe("Standard Webhooks signing", () => {
  it("matches the spec's published test vector", async () => {
    const key = webhookKey("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    const signature = await signWebhook(
      key,
      "msg_p5jXN8AQM9LWM0D4loKWxJek",
      1614265330,
      '{"test": 2432232314}',
    );
    expect(signature).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  });

  it("a delivery verifies with an independent node:crypto verifier, and a tampered body does not", async () => {
    const receiver = await startReceiver("webhook");
    open.push(receiver);
    const clock = new ManualClock(Date.UTC(2026, 5, 1));
    const sender = new WebhookSender("hook", receiver.target, SECRET, { fetch, clock });
    await sender.send(message, { id: "5f1c2d3e-aaaa-4bbb-8ccc-123456789abc", attempt: 1 });
    const got = receiver.accepted[0];
    if (!got) throw new Error("nothing received");
    const now = Math.floor(clock.now() / 1000);
    expect(got.headers["webhook-id"]).toBe("msg_5f1c2d3eaaaa4bbb8ccc123456789abc");
    expect(got.headers["webhook-timestamp"]).toBe(String(now));
    expect(verify(SECRET, got.headers, got.raw, now)).toBeNull();
    expect(verify(SECRET, got.headers, got.raw.replace("secondary", "primary"), now)).toBe(
      "no matching signature",
    );
    expect(verify(`whsec_${Buffer.from("another key").toString("base64")}`, got.headers, got.raw, now)).toBe(
      "no matching signature",
    );
    expect(verify(SECRET, got.headers, got.raw, now + 301)).toBe("timestamp outside tolerance");
    const body = JSON.parse(got.raw) as { type: string; data: { service: string; votes: unknown } };
    expect(body.type).toBe("healthmesh.failover");
    expect(body.data.votes).toEqual({
      primary: { down: 3, up: 0, abstain: 0 },
      secondary: { down: 0, up: 3, abstain: 0 },
    });
  });

  it("keeps webhook-id across a retry and signs the retry with its own timestamp", async () => {
    const receiver = await startReceiver("webhook");
    open.push(receiver);
    const clock = new ManualClock(Date.UTC(2026, 5, 1));
    const sender = new WebhookSender("hook", receiver.target, SECRET, { fetch, clock });
    receiver.fail("500");
    await expect(sender.send(message, { id: "d-1", attempt: 1 })).rejects.toMatchObject({ retryable: true });
    await clock.advance(65_000);
    await sender.send(message, { id: "d-1", attempt: 2 });
    const got = receiver.accepted[0];
    if (!got) throw new Error("nothing received");
    expect(got.headers["webhook-id"]).toBe("msg_d1");
    expect(verify(SECRET, got.headers, got.raw, Math.floor(clock.now() / 1000))).toBeNull();
  });
});
