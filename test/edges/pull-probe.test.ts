import { describe, expect, it } from "vitest";
import { createPullProbe, pullProbeSettings } from "../../probes/pull.ts";
import { ManualClock } from "../../shared/clock.ts";
import { silentLogger } from "../../shared/log.ts";
import { type RunRequest, reportSchema } from "../../shared/protocol.ts";
import { verifySignature } from "../../shared/signing.ts";
import { routedFetch, signedRun } from "./fixtures.ts";

const PROBE = "deno-fra";
const SECRET = "probe-secret";
const BASE = "https://probe.test";

function run(overrides: Partial<RunRequest> = {}): RunRequest {
  return {
    id: crypto.randomUUID(),
    probe: PROBE,
    intervalMs: 10_000,
    checks: [
      {
        service: "web",
        endpoint: "primary",
        url: "https://primary.test/healthz",
        expectStatus: [200],
        bodyContains: "ok",
        timeoutMs: 1000,
      },
      {
        service: "web",
        endpoint: "secondary",
        url: "https://secondary.test/healthz",
        expectStatus: [200],
        timeoutMs: 1000,
      },
    ],
    canaries: [],
    ...overrides,
  };
}

function setup(options: { coordinators?: string[] } = {}) {
  const clock = new ManualClock();
  const pushed: Request[] = [];
  const fetch = routedFetch({
    "https://primary.test/": () => new Response("ok"),
    "https://secondary.test/": () => new Response("down", { status: 503 }),
    "https://canary.test/": () => new Response(null, { status: 204 }),
    "https://coordinator.test/v1/probes/": () => {
      const { id: _id, ...assignments } = run();
      return Response.json(assignments);
    },
    "https://coordinator.test/v1/reports": (request) => {
      pushed.push(request);
      return Response.json({ accepted: true }, { status: 202 });
    },
  });
  const probe = createPullProbe({
    id: PROBE,
    secret: SECRET,
    coordinators: options.coordinators ?? ["https://coordinator.test"],
    fetch,
    clock,
    log: silentLogger,
  });
  return { clock, fetch, probe, pushed };
}

async function errorCode(response: Response): Promise<string> {
  const body = (await response.json()) as { error: { code: string } }; // every refusal is an ErrorBody
  return body.error.code;
}

describe("pull probe handler", () => {
  it("answers a signed run request with a report signed by its own secret", async () => {
    const { clock, probe } = setup();
    const response = await probe.handle(await signedRun(BASE, run(), { secret: SECRET, nowMs: clock.now() }));
    expect(response.status).toBe(200);
    const text = await response.text();
    const check = await verifySignature(response.headers, text, {
      secretFor: (id) => (id === PROBE ? SECRET : undefined),
      nowMs: clock.now(),
    });
    expect(check.ok).toBe(true);
    const report = reportSchema.parse(JSON.parse(text));
    expect(report.probe).toBe(PROBE);
    expect(report.healthy).toBe(true);
    expect(report.results.map((r) => [r.endpoint, r.ok, r.status])).toEqual([
      ["primary", true, 200],
      ["secondary", false, 503],
    ]);
  });

  it("refuses a forged run request with 401 and runs no check", async () => {
    const { clock, fetch, probe } = setup();
    const response = await probe.handle(
      await signedRun(BASE, run(), { secret: "guessed", nowMs: clock.now() }),
    );
    expect(response.status).toBe(401);
    expect(await errorCode(response)).toBe("bad_signature");
    expect(fetch.calls).toEqual([]);
  });

  it("refuses a run request signed more than 60 s ago", async () => {
    const { clock, probe } = setup();
    const request = await signedRun(BASE, run(), { secret: SECRET, nowMs: clock.now() - 61_000 });
    const response = await probe.handle(request);
    expect(response.status).toBe(401);
    expect(await errorCode(response)).toBe("stale_timestamp");
  });

  it("refuses a replayed run request id", async () => {
    const { clock, probe } = setup();
    const body = run();
    const first = await probe.handle(await signedRun(BASE, body, { secret: SECRET, nowMs: clock.now() }));
    expect(first.status).toBe(200);
    await clock.advance(1000);
    const again = await probe.handle(await signedRun(BASE, body, { secret: SECRET, nowMs: clock.now() }));
    expect(again.status).toBe(401);
    expect(await errorCode(again)).toBe("replayed");
  });

  it("refuses a run signed for another probe id, and a body that names another probe", async () => {
    const { clock, probe } = setup();
    const otherHeader = await signedRun(BASE, run(), {
      secret: SECRET,
      nowMs: clock.now(),
      headerProbe: "fly-iad",
    });
    const first = await probe.handle(otherHeader);
    expect(first.status).toBe(401);
    expect(await errorCode(first)).toBe("unknown_probe");
    const otherBody = await signedRun(BASE, run({ probe: "fly-iad" }), {
      secret: SECRET,
      nowMs: clock.now(),
      headerProbe: PROBE,
    });
    const second = await probe.handle(otherBody);
    expect(second.status).toBe(401);
    expect(await errorCode(second)).toBe("probe_mismatch");
  });

  it("refuses an oversized body with 413 and a malformed one with 400", async () => {
    const { clock, probe } = setup();
    const huge = new Request(`${BASE}/v1/run`, { method: "POST", body: "x".repeat(256 * 1024 + 1) });
    expect((await probe.handle(huge)).status).toBe(413);
    const text = "{not json";
    const { signedHeaders } = await import("../../shared/signing.ts");
    const headers = await signedHeaders(PROBE, SECRET, text, clock.now());
    const malformed = await probe.handle(
      new Request(`${BASE}/v1/run`, { method: "POST", body: text, headers }),
    );
    expect(malformed.status).toBe(400);
    expect(await errorCode(malformed)).toBe("malformed_json");
  });

  it("reports itself unhealthy when every canary fails, and healthy when one answers", async () => {
    const { clock, probe } = setup();
    const dead = run({ canaries: ["https://unreachable-1.test/", "https://unreachable-2.test/"] });
    const failing = await probe.handle(await signedRun(BASE, dead, { secret: SECRET, nowMs: clock.now() }));
    expect(reportSchema.parse(await failing.json()).healthy).toBe(false);
    const alive = run({ canaries: ["https://unreachable-1.test/", "https://canary.test/"] });
    const passing = await probe.handle(await signedRun(BASE, alive, { secret: SECRET, nowMs: clock.now() }));
    expect(reportSchema.parse(await passing.json()).healthy).toBe(true);
  });

  it("answers /healthz and 404s other paths with a JSON error", async () => {
    const { probe } = setup();
    expect(await (await probe.handle(new Request(`${BASE}/healthz`))).json()).toEqual({
      ok: true,
      probe: PROBE,
    });
    const missing = await probe.handle(new Request(`${BASE}/v1/reports`));
    expect(missing.status).toBe(404);
    expect(await errorCode(missing)).toBe("not_found");
  });
});

describe("pull probe backstop", () => {
  it("backstop() pushes a signed report to the coordinator, and skips within a minute of a pull", async () => {
    const { clock, probe, pushed } = setup();
    expect(await probe.backstop()).toBe("pushed");
    expect(pushed).toHaveLength(1);
    const sent = pushed[0];
    if (!sent) throw new Error("No report was pushed");
    const text = await sent.text();
    const check = await verifySignature(sent.headers, text, { secretFor: () => SECRET, nowMs: clock.now() });
    expect(check.ok).toBe(true);
    expect(reportSchema.parse(JSON.parse(text)).results).toHaveLength(2);

    await probe.handle(await signedRun(BASE, run(), { secret: SECRET, nowMs: clock.now() }));
    await clock.advance(30_000);
    expect(await probe.backstop()).toBe("skipped");
    await clock.advance(31_000);
    expect(await probe.backstop()).toBe("pushed");
    expect(pushed).toHaveLength(2);
  });

  it("backstop() does nothing without coordinators", async () => {
    const { probe, fetch } = setup({ coordinators: [] });
    expect(await probe.backstop({ force: true })).toBe("skipped");
    expect(fetch.calls).toEqual([]);
  });
});

describe("pullProbeSettings()", () => {
  it("reads id, secret and comma-separated coordinators, and names a missing secret", () => {
    const env: Record<string, string> = {
      HEALTHMESH_PROBE_ID: "cf-workers",
      HEALTHMESH_PROBE_SECRET: "s",
      HEALTHMESH_COORDINATORS: "https://a.test/, https://b.test",
    };
    expect(pullProbeSettings((name) => env[name])).toEqual({
      id: "cf-workers",
      secret: "s",
      coordinators: ["https://a.test", "https://b.test"],
    });
    expect(() => pullProbeSettings((name) => (name === "HEALTHMESH_PROBE_ID" ? "x" : undefined))).toThrow(
      'Missing probe secret: set HEALTHMESH_PROBE_SECRET for probe "x"',
    );
  });
});
