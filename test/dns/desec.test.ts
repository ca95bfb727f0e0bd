import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DesecDnsProvider } from "../../coordinator/dns/desec.ts";
import { AuthError, ConflictError, RateLimitError, ValidationError } from "../../coordinator/dns/errors.ts";
import { ManualClock } from "../../shared/clock.ts";
import { type RunningDesecStandin, startDesecStandin } from "../../standins/desec.ts";

const ZONE = "example.com";
const TOKEN = "desec-token-abc";
let desec: RunningDesecStandin;
let clock: ManualClock;
const client = (token = TOKEN) =>
  new DesecDnsProvider({ fetch, apiBase: desec.apiBase, token, domain: ZONE, clock });

beforeEach(async () => {
  clock = new ManualClock();
  desec = await startDesecStandin({
    tokens: [TOKEN],
    domains: [{ name: ZONE, minimumTtl: 3600 }],
    clock,
    pageSize: 3,
  });
});
afterEach(async () => {
  await desec.close();
});

describe("deSEC client against the stand-in", () => {
  it("writes many routers as one bulk PATCH with subnames and trailing-dot targets", async () => {
    const names = ["a", "b", "c", "d"].map((s) => `${s}-router.${ZONE}`);
    await client().writeRouters(names.map((name) => ({ name, target: "cdn2.example.net.", ttl: 3600 })));
    expect(desec.standin.requests.get("PATCH", "/domains/:name/rrsets/")).toBe(1);
    expect(desec.standin.rrsets(ZONE).get("a-router/CNAME")).toMatchObject({
      subname: "a-router",
      records: ["cdn2.example.net."],
      ttl: 3600,
    });
    expect(desec.standin.requests.get("PATCH", "(unrouted)")).toBe(0);
  });

  it("follows the Link rel=next cursor over every page", async () => {
    for (let i = 0; i < 8; i++)
      desec.standin.seed(ZONE, { subname: `r${i}`, type: "CNAME", records: [`t${i}.example.net.`] });
    const names = Array.from({ length: 8 }, (_, i) => `r${i}.${ZONE}`);
    const read = await client().readRouters(names);
    expect([...read.values()].map((r) => r?.target)).toEqual(names.map((_, i) => `t${i}.example.net.`));
    expect(desec.standin.requests.get("GET", "/domains/:name/rrsets/")).toBe(3);
  });

  it("is refused a list of more than a page without a cursor, as deSEC does", async () => {
    for (let i = 0; i < 4; i++)
      desec.standin.seed(ZONE, { subname: `r${i}`, type: "A", records: ["192.0.2.1"] });
    const answer = await fetch(`${desec.apiBase}/domains/${ZONE}/rrsets/`, {
      headers: { authorization: `Token ${TOKEN}` },
    });
    expect(answer.status).toBe(400);
    expect(((await answer.json()) as { detail: string }).detail).toContain("Pagination required");
    expect(answer.headers.get("link")).toContain('rel="first"');
  });

  it("reads the domain's minimum_ttl and maps a lower TTL to ValidationError with deSEC's words", async () => {
    expect((await client().domain()).minimum_ttl).toBe(3600);
    const error = await client()
      .writeRouters([{ name: `web-router.${ZONE}`, target: "t.example.net.", ttl: 60 }])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toContain(
      '"web-router" CNAME: ttl: Ensure this value is greater than or equal to 3600.',
    );
  });

  it("maps an RRset of another type at the router's subname to ConflictError", async () => {
    desec.standin.seed(ZONE, { subname: "web-router", type: "A", records: ["192.0.2.1"] });
    const c = client();
    const read = await c.readRouters([`web-router.${ZONE}`]);
    expect(read.get(`web-router.${ZONE}`)?.type).toBe("A/AAAA");
    const error = await c
      .writeRouters([{ name: `web-router.${ZONE}`, target: "t.example.net.", ttl: 3600 }])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as Error).message).toContain("conflicting type");
    expect(desec.standin.rrsets(ZONE).has("web-router/CNAME")).toBe(false);
  });

  it("maps an invalid token to AuthError with deSEC's detail", async () => {
    const error = await client("nope")
      .domain()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as Error).message).toContain("Invalid token.");
  });

  it("throttles writes per domain at 2 per second and says when to come back", async () => {
    const c = client();
    const write = () => c.writeRouters([{ name: `w.${ZONE}`, target: "t.example.net.", ttl: 3600 }]);
    await write();
    await write();
    const error = await write().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).retryAfterMs).toBe(1000);
    expect((error as Error).message).toContain("Request was throttled. Expected available in 1 second.");
    await clock.advance(1000);
    await write();
  });
});
