/**
 * The DNS clients against answers the real APIs gave (test/fixtures/real-apis/, copied from recordings
 * with their sources), served verbatim — so a client never passes only because it agrees with a stand-in
 * built from the same guess — and the stand-ins answering like those recordings.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { runValidateOnline } from "../../cli/zone.ts";
import { CloudflareDnsProvider } from "../../coordinator/dns/cloudflare.ts";
import { DesecDnsProvider } from "../../coordinator/dns/desec.ts";
import {
  ConflictError,
  DnsError,
  MAX_TIMER_MS,
  NotFoundError,
  parseRetryAfter,
  RateLimitError,
} from "../../coordinator/dns/errors.ts";
import { MemoryDnsProvider } from "../../coordinator/dns/memory.ts";
import type { DnsProvider } from "../../coordinator/dns/provider.ts";
import { Reconciler } from "../../coordinator/dns/reconciler.ts";
import type { NewEvent } from "../../coordinator/store/store.ts";
import { type Clock, ManualClock } from "../../shared/clock.ts";
import { configFromObject } from "../../shared/config.ts";
import { silentLogger } from "../../shared/log.ts";
import { startCloudflareStandin } from "../../standins/cloudflare.ts";
import { startDesecStandin } from "../../standins/desec.ts";

interface Recorded {
  status: number;
  body: string;
  headers?: Record<string, string>;
  content_type?: string;
}
const fixture = (name: string) => new URL(`../fixtures/real-apis/${name}`, import.meta.url);
const recorded = JSON.parse(readFileSync(fixture("recorded.json"), "utf8")) as Record<string, Recorded>;
const page = (n: number) => readFileSync(fixture(`octodns-cloudflare-dns_records-page-${n}.json`), "utf8");
const rec = (key: string): Recorded => {
  const r = recorded[key];
  if (!r) throw new Error(`no recorded answer "${key}"`);
  return r;
};

/** A fetch that answers from a table of `METHOD path?query` → recorded answers, counting calls. */
function replay(table: (method: string, url: URL) => Recorded | undefined) {
  const calls: string[] = [];
  const fetchStub: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const method = init?.method ?? "GET";
    calls.push(`${method} ${url.pathname}${url.search}`);
    const answer = table(method, url);
    if (!answer) return new Response('{"detail":"Not found."}', { status: 404 });
    return new Response(answer.body, {
      status: answer.status,
      headers: { "content-type": answer.content_type ?? "application/json", ...answer.headers },
    });
  };
  return { fetch: fetchStub, calls };
}

const catchIt = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) => e,
  );

describe("Cloudflare client against recorded answers", () => {
  const ZONE_ID = "457dd20dded351b97830cb528f507819";
  const cf = (fetchStub: typeof fetch, extra: { perPage?: number; zone?: string } = {}) =>
    new CloudflareDnsProvider({
      fetch: fetchStub,
      apiBase: "https://api.cloudflare.com/client/v4",
      token: "t",
      zone: extra.zone ?? "byemike.org",
      zoneId: ZONE_ID,
      ...(extra.perPage ? { perPage: extra.perPage } : {}),
    });

  it("reads a router CNAME from the recorded 2025 dns_records list", async () => {
    const r = replay((_m, u) =>
      u.pathname.endsWith("/dns_records") ? rec("cloudflareRecordsList") : undefined,
    );
    const seen = await cf(r.fetch).readRouters(["docs.byemike.org", "nothing.byemike.org"]);
    expect(seen.get("docs.byemike.org")).toEqual({
      name: "docs.byemike.org",
      type: "CNAME",
      target: "docs.example.com.",
      ttl: 3600,
    });
    expect(seen.get("nothing.byemike.org")).toBeNull();
    // An A record read as an address router's value (the same list, no second request).
    const a = await cf(r.fetch).readRouters(["localhost.byemike.org"]);
    expect(a.get("localhost.byemike.org")).toEqual({
      name: "localhost.byemike.org",
      type: "A/AAAA",
      target: "127.0.0.1",
      ttl: 3600,
    });
  });

  it("follows result_info.total_pages even when a page holds fewer records than asked for", async () => {
    const r = replay((_, u) => {
      const n = Number(u.searchParams.get("page") ?? 1);
      return u.pathname.endsWith("/dns_records") && n <= 3 ? { status: 200, body: page(n) } : undefined;
    });
    const sets = await cf(r.fetch, { zone: "unit.tests" }).listRecords();
    expect(r.calls.filter((c) => c.includes("/dns_records"))).toHaveLength(3);
    const names = new Set(sets.map((s) => s.name));
    expect(names.has("unit.tests")).toBe(true); // page 1
    expect(names.has("under.unit.tests")).toBe(true); // page 2
    expect(names.has("_srv._tcp.unit.tests")).toBe(true); // page 3
  });

  it("treats a success answer without a result list as an error, never as an empty zone", async () => {
    const r = replay(() => ({ status: 200, body: '{"success":true,"errors":[],"messages":[]}' }));
    const error = await catchIt(cf(r.fetch).listRecords());
    expect(error).toBeInstanceOf(DnsError);
    expect((error as DnsError).retryable).toBe(true);
    expect((error as Error).message).toContain("no result list");
  });

  it("maps the recorded 81058 to ConflictError and the recorded 403 (code 0) to an auth fault", async () => {
    const dup = replay(() => rec("cloudflare81058"));
    const e1 = await catchIt(
      cf(dup.fetch).applyRecords([{ name: "x.byemike.org", type: "TXT", values: ["a"], ttl: 60 }]),
    );
    // The list itself answers 400 here, so the refusal is the list's: still the conflict code, typed.
    expect(e1).toBeInstanceOf(ConflictError);
    expect((e1 as DnsError).code).toBe("81058");
    const denied = replay(() => rec("cloudflarePermission403"));
    const e2 = await catchIt(cf(denied.fetch).readRouters(["x.byemike.org"]));
    expect((e2 as DnsError).retryable).toBe(false);
    expect((e2 as Error).message).toContain("requires permission");
  });

  it("summarises an HTML error page (status, meaning, title), never pastes it", async () => {
    const html =
      "<!DOCTYPE html><html><head><title>api.cloudflare.com | 502: Bad gateway</title></head><body>" +
      "<p>".repeat(500) +
      "</body></html>";
    const r = replay(() => ({ status: 502, body: html, content_type: "text/html" }));
    const error = await catchIt(cf(r.fetch).readRouters(["x.byemike.org"]));
    const message = (error as Error).message;
    expect(message).toContain(
      'HTTP 502 (bad gateway): an HTML page titled "api.cloudflare.com | 502: Bad gateway"',
    );
    expect(message).not.toContain("<");
  });
});

describe("deSEC client against recorded answers", () => {
  const desec = (fetchStub: typeof fetch, domain = "desec.lexicon") =>
    new DesecDnsProvider({ fetch: fetchStub, apiBase: "https://desec.io/api/v1", token: "t", domain });

  it("reads the recorded 2025 RRset list", async () => {
    const r = replay((_, u) => (u.pathname.endsWith("/rrsets/") ? rec("desecRrsetsList") : undefined));
    const sets = await desec(r.fetch).listRecords();
    expect(sets.length).toBeGreaterThan(0);
    expect(sets.some((s) => s.type === "CNAME")).toBe(true);
  });

  it("summarises the nginx HTML 429 page: throttled, its title, no Retry-After, nothing raw", async () => {
    const r = replay(() => rec("desecNginx429"));
    const error = await catchIt(desec(r.fetch).readRouters(["www.desec.lexicon"]));
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).retryAfterMs).toBeUndefined();
    const message = (error as Error).message;
    expect(message).toContain('HTTP 429 (throttled): an HTML page titled "429 Too Many Requests"');
    expect(message).not.toMatch(/<|DOCTYPE|nginx<\/div>/);
  });

  it("treats a success answer that is not a list (lexicon's scrubbed {}, a proxy page) as an error", async () => {
    for (const body of ["{}", "<html><title>Captive portal</title></html>"]) {
      const r = replay(() => ({ status: 200, body }));
      const error = await catchIt(desec(r.fetch).listRecords());
      expect(error).toBeInstanceOf(DnsError);
      expect((error as Error).message).toContain("not a list of RRsets");
      expect((error as Error).message).not.toContain("<html");
    }
  });

  it("maps the recorded 404, the DRF 429 with Retry-After and the bulk conflict list", async () => {
    const missing = await catchIt(desec(replay(() => rec("desecUnknownDomain404")).fetch).domain());
    expect(missing).toBeInstanceOf(NotFoundError);
    expect((missing as Error).message).toContain("No Domain matches the given query.");
    const slow = await catchIt(desec(replay(() => rec("desecThrottled429")).fetch).domain());
    expect((slow as RateLimitError).retryAfterMs).toBe(1000);
    const conflict = rec("desecBulkConflict");
    const bulk = await catchIt(
      desec(
        replay(() => ({ status: conflict.status, body: JSON.stringify(conflict.body) })).fetch,
        "example.com",
      ).writeRouters([
        { name: "test.example.com", target: "a.example.net.", ttl: 3600 },
        { name: "test2.example.com", target: "b.example.net.", ttl: 3600 },
      ]),
    );
    expect(bulk).toBeInstanceOf(ConflictError);
    // deSEC names both items of that recorded answer (each conflicts with the other).
    expect((bulk as DnsError).items).toEqual([0, 1]);
  });
});

describe("the stand-ins answer like the recordings, and the loop never shows raw pages", () => {
  const close: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of close.splice(0)) await c();
  });

  it("deSEC's nginx limit answers its HTML 429 page; status and events carry only the summary", async () => {
    const clock = new ManualClock();
    const desec = await startDesecStandin({
      tokens: ["t"],
      domains: [{ name: "example.com" }],
      clock,
      nginxRate: { limit: 1, windowMs: 60_000 },
    });
    close.push(() => desec.close());
    const raw = await fetch(`${desec.apiBase}/domains/example.com/`, {
      headers: { authorization: "Token t" },
    });
    await raw.text();
    const limited = await fetch(`${desec.apiBase}/domains/example.com/`, {
      headers: { authorization: "Token t" },
    });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBeNull();
    expect(await limited.text()).toContain("<title>429 Too Many Requests</title>");
    const provider = new DesecDnsProvider({
      fetch,
      apiBase: desec.apiBase,
      token: "t",
      domain: "example.com",
      clock,
    });
    const events: NewEvent[] = [];
    const reconciler = new Reconciler([provider], {
      clock,
      log: silentLogger,
      timing: () => ({ timeoutMs: 10_000, maxBackoffMs: 30_000 }),
      persist: async (c) => {
        events.push(...c.events);
      },
      random: () => 0.5,
    });
    close.push(async () => reconciler.stop());
    reconciler.setDesired([
      { service: "web", router: "www.example.com", target: "a.example.net.", ttl: { desec: 3600 } },
    ]);
    await reconciler.idle();
    const row = reconciler.states()[0];
    expect(row?.state).toBe("error");
    expect(row?.error).toContain("429 (throttled)");
    expect(row?.error).toContain('"429 Too Many Requests"');
    for (const text of [row?.error ?? "", ...events.map((e) => e.message)]) expect(text).not.toContain("<");
  });

  it("validate --online accepts a working account-owned Cloudflare token (user verify answers 401 for it)", async () => {
    const cf = await startCloudflareStandin({
      tokens: [],
      accountTokens: ["acct"],
      zones: [{ name: "example.com" }],
    });
    close.push(() => cf.close());
    const verify = await fetch(`${cf.apiBase}/user/tokens/verify`, {
      headers: { authorization: "Bearer acct" },
    });
    expect(verify.status).toBe(401);
    expect(await verify.json()).toMatchObject({ errors: [{ code: 1000, message: "Invalid API Token" }] });
    const config = configFromObject({
      zone: "example.com",
      providers: { cloudflare: { tokenEnv: "CF", apiBase: cf.apiBase } },
      services: [
        {
          name: "web",
          router: "www",
          primary: { target: "a.example.net.", check: { url: "https://a.example.net/" } },
          secondary: { target: "b.example.net.", check: { url: "https://b.example.net/" } },
        },
      ],
      probes: { members: [{ id: "p1", provider: "a", secretEnv: "S" }] },
    });
    const out: string[] = [];
    const code = await runValidateOnline(config, { env: () => "acct", fetch, write: (l) => out.push(l) });
    expect(out.filter((l) => l.startsWith("error"))).toEqual([]);
    expect(code).toBe(0);
  });
});

describe("timeouts and Retry-After", () => {
  let server: Server | null = null;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = null;
  });

  it("aborts the request when the reconciler's timeout runs out: the server sees the connection go", async () => {
    let seen = 0;
    let aborted = 0;
    let onAbort = () => {};
    const gone = new Promise<void>((resolve) => {
      onAbort = resolve;
    });
    server = createServer((req, res) => {
      seen++;
      res.on("close", () => {
        if (!res.writableEnded) {
          aborted++;
          onAbort();
        }
      });
      void req;
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port; // a TCP listener
    const clock = new ManualClock();
    // The client has no clock of its own (no timer of its own): only the reconciler's deadline can abort.
    const provider = new DesecDnsProvider({
      fetch,
      apiBase: `http://127.0.0.1:${port}/api/v1`,
      token: "t",
      domain: "example.com",
    });
    const reconciler = new Reconciler([provider], {
      clock,
      log: silentLogger,
      timing: () => ({ timeoutMs: 5000, maxBackoffMs: 30_000 }),
      persist: async () => {},
      random: () => 0.5,
    });
    reconciler.setDesired([
      { service: "web", router: "www.example.com", target: "a.example.net.", ttl: { desec: 3600 } },
    ]);
    while (seen === 0) await new Promise((resolve) => setImmediate(resolve));
    await clock.advance(5000);
    await gone;
    expect(aborted).toBe(1);
    await reconciler.idle();
    expect(reconciler.states()[0]?.error).toContain("within 5000 ms");
    reconciler.stop();
  });

  it("clamps a Retry-After beyond the timer range instead of looping every millisecond", async () => {
    expect(parseRetryAfter("99999999999", 0)).toBe(MAX_TIMER_MS);
    expect(parseRetryAfter(new Date(Date.UTC(2200, 0, 1)).toUTCString(), 0)).toBe(MAX_TIMER_MS);
    const manual = new ManualClock();
    const delays: number[] = [];
    const clock: Clock = {
      now: () => manual.now(),
      setTimer: (fn, ms) => {
        delays.push(ms);
        return manual.setTimer(fn, ms);
      },
    };
    const provider: DnsProvider = new MemoryDnsProvider("memory");
    (provider as MemoryDnsProvider).fault = new RateLimitError("memory", "throttled", {
      status: 429,
      retryAfterMs: 1e12,
    });
    const reconciler = new Reconciler([provider], {
      clock,
      log: silentLogger,
      timing: () => ({ timeoutMs: 5000, maxBackoffMs: 30_000 }),
      persist: async () => {},
      random: () => 0.5,
    });
    reconciler.setDesired([
      { service: "web", router: "www.example.com", target: "a.example.net.", ttl: { memory: 60 } },
    ]);
    await reconciler.idle();
    await manual.advance(10_000);
    expect(Math.max(...delays)).toBeLessThanOrEqual(MAX_TIMER_MS);
    expect((provider as MemoryDnsProvider).calls.read).toBe(1);
    reconciler.stop();
  });
});
