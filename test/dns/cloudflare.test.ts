import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CloudflareDnsProvider } from "../../coordinator/dns/cloudflare.ts";
import {
  AuthError,
  ConflictError,
  NetworkError,
  RateLimitError,
  ServerError,
} from "../../coordinator/dns/errors.ts";
import { ManualClock } from "../../shared/clock.ts";
import { type RunningCloudflareStandin, startCloudflareStandin } from "../../standins/cloudflare.ts";

const ZONE = "example.com";
const TOKEN = "cf-token-abc";
let cf: RunningCloudflareStandin;
let clock: ManualClock;
const client = (extra: { token?: string; perPage?: number } = {}) =>
  new CloudflareDnsProvider({
    fetch,
    apiBase: cf.apiBase,
    token: extra.token ?? TOKEN,
    zone: ZONE,
    clock,
    ...(extra.perPage ? { perPage: extra.perPage } : {}),
  });

beforeEach(async () => {
  clock = new ManualClock();
  cf = await startCloudflareStandin({
    tokens: [TOKEN],
    zones: [{ name: "other.org" }, { name: ZONE }],
    clock,
    rateLimit: { limit: 20, windowMs: 300_000, blockMs: 300_000 },
  });
});
afterEach(async () => {
  await cf.close();
});

describe("Cloudflare client against the stand-in", () => {
  it("looks the zone id up by name once and writes FQDN names and CNAME content without trailing dots", async () => {
    const c = client();
    const name = `web-router.${ZONE}`;
    expect((await c.readRouters([name])).get(name)).toBeNull();
    await c.writeRouters([{ name, target: "CDN2-front.example.com.", ttl: 60 }]);
    const [stored] = [...cf.standin.records(ZONE).values()];
    expect(stored).toMatchObject({
      name,
      type: "CNAME",
      content: "cdn2-front.example.com",
      ttl: 60,
      proxied: false,
    });
    expect((await c.readRouters([name])).get(name)).toEqual({
      name,
      type: "CNAME",
      target: "cdn2-front.example.com.",
      ttl: 60,
    });
    expect(cf.standin.requests.get("GET", "/zones")).toBe(1);
  });

  it("patches the existing record id instead of posting a second CNAME", async () => {
    const c = client();
    const name = `web-router.${ZONE}`;
    const seeded = cf.standin.seed(ZONE, { name, type: "CNAME", content: "old.example.net", ttl: 300 });
    await c.readRouters([name]);
    await c.writeRouters([{ name, target: "new.example.net.", ttl: 60 }]);
    expect([...cf.standin.records(ZONE).values()]).toEqual([
      expect.objectContaining({ id: seeded.id, content: "new.example.net", ttl: 60 }),
    ]);
  });

  it("reads every page of a zone listed with page and per_page", async () => {
    for (let i = 0; i < 7; i++)
      cf.standin.seed(ZONE, { name: `r${i}.${ZONE}`, type: "CNAME", content: `t${i}.example.net` });
    const names = Array.from({ length: 7 }, (_, i) => `r${i}.${ZONE}`);
    const read = await client({ perPage: 3 }).readRouters(names);
    expect([...read.values()].map((r) => r?.target)).toEqual(names.map((_, i) => `t${i}.example.net.`));
    expect(cf.standin.requests.get("GET", "/zones/:zone/dns_records")).toBe(3);
  });

  it("maps an invalid token to AuthError keeping Cloudflare's 9109 and message", async () => {
    const error = await client({ token: "wrong" })
      .readRouters(["x.example.com"])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthError);
    expect(error).toMatchObject({ status: 403, code: "9109", retryable: false });
    expect(String((error as Error).message)).toContain("Invalid access token");
  });

  it("maps 81053 (a CNAME where an A record is) to ConflictError", async () => {
    const id = (await client().zoneId()) as string;
    const answer = await fetch(`${cf.apiBase}/zones/${id}/dns_records`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ type: "A", name: `x.${ZONE}`, content: "192.0.2.1", ttl: 60 }),
    });
    expect(answer.status).toBe(200);
    const c = client();
    await c.readRouters([]);
    const error = await c
      .applyRecords([{ name: `x.${ZONE}`, type: "CNAME", values: ["t.example.net."], ttl: 60 }])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ code: "81053" });
  });

  it("refuses a TTL outside 1 and 60-86400 with Cloudflare's 1004/9021", async () => {
    const error = await client()
      .writeRouters([{ name: `x.${ZONE}`, target: "t.example.net.", ttl: 30 }])
      .catch((e: unknown) => e);
    expect((error as Error).message).toContain("9021");
    expect((error as Error).message).toContain("TTL must be between 60 and 86400");
  });

  it("answers 429 with Retry-After once the token's window is used up, and the client keeps the wait", async () => {
    const c = client();
    for (let i = 0; i < 20; i++) await c.verifyToken();
    const error = await c.verifyToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).retryAfterMs).toBe(300_000);
    await clock.advance(299_000);
    expect(await c.verifyToken().catch((e: unknown) => e)).toBeInstanceOf(RateLimitError);
    await clock.advance(2_000);
    expect(await c.verifyToken()).toBe("active");
  });

  it("maps injected 5xx to ServerError and a closed listener to NetworkError", async () => {
    cf.standin.fault = { status: 503 };
    expect(
      await client()
        .verifyToken()
        .catch((e: unknown) => e),
    ).toBeInstanceOf(ServerError);
    cf.standin.fault = null;
    await cf.down();
    const error = await client()
      .verifyToken()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
  });

  it("gives up on a hanging API after its own timeout", async () => {
    cf.standin.fault = { hang: true };
    const c = new CloudflareDnsProvider({
      fetch,
      apiBase: cf.apiBase,
      token: TOKEN,
      zone: ZONE,
      clock,
      timeoutMs: 5000,
    });
    const pending = c.verifyToken().catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await clock.advance(5000);
    const error = await pending;
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as Error).message).toContain("no answer within 5000 ms");
  });
});
