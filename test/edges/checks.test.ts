import { createServer } from "node:http";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type Origin, startOrigin } from "../../demo/origins.ts";
import { canariesHealthy, describeFetchError, runCheck, runChecks } from "../../probes/checks.ts";
import { ManualClock, systemClock } from "../../shared/clock.ts";
import type { HttpCheck } from "../../shared/protocol.ts";
import { deadUrl } from "./runtimes.ts";

const real = { fetch, clock: systemClock() };

function check(url: string, overrides: Partial<HttpCheck> = {}): HttpCheck {
  return { service: "web", endpoint: "primary", url, expectStatus: [200], timeoutMs: 2000, ...overrides };
}

describe("runCheck() against loopback servers", () => {
  let origin: Origin;
  let plainHttpPort = 0;
  const plain = createServer((_req, res) => res.end("ok"));

  beforeAll(async () => {
    origin = await startOrigin("cf-front");
    await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", resolve));
    const address = plain.address();
    plainHttpPort = typeof address === "object" && address ? address.port : 0;
  });
  afterAll(async () => {
    await origin.close();
    plain.close();
  });

  it("passes on an expected status and body, with status and latency", async () => {
    const result = await runCheck(check(`${origin.url}/healthz`, { bodyContains: "ok from" }), real);
    expect(result).toMatchObject({ service: "web", endpoint: "primary", ok: true, status: 200 });
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it("fails on an unexpected status and on a body without bodyContains, saying which", async () => {
    origin.up = false;
    const down = await runCheck(check(`${origin.url}/healthz`), real);
    origin.up = true;
    expect(down).toMatchObject({ ok: false, status: 503, error: "Unexpected status 503, expected 200" });
    const wrongBody = await runCheck(check(`${origin.url}/healthz`, { bodyContains: "healthy" }), real);
    expect(wrongBody).toMatchObject({ ok: false, status: 200, error: 'Body does not contain "healthy"' });
  });

  it("reports a refused connection with its cause", async () => {
    const result = await runCheck(check(await deadUrl()), real);
    expect(result.ok).toBe(false);
    expect(result.error).toBe("Connection refused (ECONNREFUSED)");
  });

  it("reports a failed TLS handshake with its cause", async () => {
    const result = await runCheck(check(`https://127.0.0.1:${plainHttpPort}/`), real);
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/^TLS handshake failed \(ERR_SSL_/);
  });
});

describe("runCheck() on a manual clock", () => {
  it("fails as degraded when the answer is slower than degradedAfterMs", async () => {
    const clock = new ManualClock();
    const slow = async () => {
      await clock.advance(1500);
      return new Response("ok");
    };
    const result = await runCheck(check("https://slow.test/", { timeoutMs: 5000, degradedAfterMs: 1000 }), {
      fetch: slow,
      clock,
    });
    expect(result).toMatchObject({ ok: false, status: 200, latencyMs: 1500 });
    expect(result.error).toBe("Too slow: 1500 ms, degraded above 1000 ms");
  });

  it("times out after timeoutMs and aborts the request", async () => {
    const clock = new ManualClock();
    let aborted = false;
    const hang = (_input: RequestInfo | URL, init?: RequestInit) =>
      new Promise<Response>((_, reject) =>
        init?.signal?.addEventListener("abort", () => {
          aborted = true;
          reject(init.signal?.reason);
        }),
      );
    const pending = runCheck(check("https://hang.test/", { timeoutMs: 800 }), { fetch: hang, clock });
    await clock.advance(800);
    const result = await pending;
    expect(aborted).toBe(true);
    expect(result).toMatchObject({ ok: false, latencyMs: 800, error: "Timed out after 800 ms" });
  });

  it("runs checks concurrently, in input order", async () => {
    const clock = new ManualClock();
    const started: string[] = [];
    const gated = (input: RequestInfo | URL) => {
      started.push(String(input));
      return new Promise<Response>((resolve) => clock.setTimer(() => resolve(new Response("ok")), 100));
    };
    const pending = runChecks([check("https://a.test/"), check("https://b.test/")], { fetch: gated, clock });
    await vi.waitFor(() => expect(started).toHaveLength(2));
    await clock.advance(100);
    expect((await pending).map((r) => [r.ok, r.latencyMs])).toEqual([
      [true, 100],
      [true, 100],
    ]);
  });
});

describe("canariesHealthy()", () => {
  it("is healthy with no canaries or when any canary answers, unhealthy when none does", async () => {
    const origin = await startOrigin("canary");
    try {
      origin.up = false; // a 503 still proves the probe's own network works
      expect(await canariesHealthy([], real)).toBe(true);
      expect(await canariesHealthy([await deadUrl(), `${origin.url}/healthz`], real)).toBe(true);
      expect(await canariesHealthy([await deadUrl(), await deadUrl()], real)).toBe(false);
    } finally {
      await origin.close();
    }
  });
});

describe("describeFetchError()", () => {
  // Messages as Deno 2.9 and workerd print them: they carry no error code.
  it.each([
    [
      "error sending request for url (https://127.0.0.1:46521/): client error (Connect): received corrupt message of type InvalidContentType",
      "TLS handshake failed",
    ],
    [
      "error sending request for url (https://a.test/): client error (Connect): invalid peer certificate: UnknownIssuer",
      "TLS handshake failed",
    ],
    ["tcp connect error: Connection refused (os error 111)", "Connection refused"],
    [
      "error sending request for url (http://no-such-host.invalid/): client error (Connect): dns error: failed to lookup address information: Name or service not known",
      "DNS lookup failed",
    ],
    ["Network connection lost.", "Connection lost"],
  ])("names a message-only error: %s", (message, label) => {
    const error = new TypeError("fetch failed", { cause: new Error(message) });
    expect(describeFetchError(error)).toBe(`${label}: ${message}`);
  });

  it("keeps an unknown error's message", () => {
    expect(describeFetchError(new Error("internal error; reference = abc"))).toBe(
      "Request failed: internal error; reference = abc",
    );
  });
});
