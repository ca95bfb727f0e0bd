import { afterEach, describe, expect, it } from "vitest";
import { buildApp } from "../../coordinator/app.ts";
import { Coordinator } from "../../coordinator/coordinator.ts";
import { MemoryDnsProvider } from "../../coordinator/dns/memory.ts";
import { PullLoop } from "../../coordinator/pull.ts";
import { MemoryStore } from "../../coordinator/store/memory.ts";
import { probeLimitHit, runCheck, runChecks } from "../../probes/checks.ts";
import { CheckSlots, limitsFromEnv, WORKERS_LIMITS } from "../../probes/limits.ts";
import { createPullProbe } from "../../probes/pull.ts";
import { runRound } from "../../probes/report.ts";
import { ManualClock } from "../../shared/clock.ts";
import { configFromObject } from "../../shared/config.ts";
import { silentLogger } from "../../shared/log.ts";
import type { HttpCheck } from "../../shared/protocol.ts";
import { drive, runtimeFake } from "./runtime-fake.ts";

const open: Coordinator[] = [];
afterEach(() => {
  for (const c of open.splice(0)) c.stop();
});

function check(url: string, overrides: Partial<HttpCheck> = {}): HttpCheck {
  return { service: "web", endpoint: "primary", url, expectStatus: [200], timeoutMs: 5000, ...overrides };
}

const PROBES = ["cf-ams", "cf-fra", "cf-iad"];
const secretOf = (id: string) => `secret-of-${id}`;

/** A coordinator with `services` services (two checks each) and three Worker probes pulled in process. */
async function workersMesh(services: number) {
  const clock = new ManualClock();
  const config = configFromObject({
    zone: "example.com",
    providers: { memory: {} },
    services: Array.from({ length: services }, (_, i) => ({
      name: `s${i}`,
      router: `s${i}-router`,
      primary: { target: "p.example.com.", check: { url: `https://s${i}-primary.test/`, timeout: "5s" } },
      secondary: { target: "s.example.com.", check: { url: `https://s${i}-secondary.test/`, timeout: "5s" } },
      failAfter: 1,
      recoverAfter: 1,
      holdDown: "0s",
    })),
    probes: {
      interval: "30s",
      pullTimeout: "30s",
      members: PROBES.map((id) => ({
        id,
        provider: "cloudflare-workers",
        mode: "pull",
        url: `https://${id}.probe.test`,
        secretEnv: `S_${id.replace("-", "_").toUpperCase()}`,
      })),
    },
  });
  const coordinator = await Coordinator.open({
    config,
    store: new MemoryStore(),
    clock,
    log: silentLogger,
    providers: [new MemoryDnsProvider()],
  });
  open.push(coordinator);
  const app = buildApp({ coordinator, clock, log: silentLogger, apiToken: "t", secretFor: secretOf });
  const runtimes = new Map(PROBES.map((id) => [id, runtimeFake({ ...WORKERS_LIMITS_FAKE, clock })]));
  const probes = new Map(
    PROBES.map((id) => {
      const runtime = runtimes.get(id);
      if (!runtime) throw new Error(`No runtime for "${id}"`);
      const probe = createPullProbe({
        id,
        secret: secretOf(id),
        coordinators: [],
        fetch: runtime.fetch,
        clock,
        log: silentLogger,
        limits: WORKERS_LIMITS,
      });
      return [id, { runtime, probe }] as const;
    }),
  );
  const toProbes: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    const id = new URL(request.url).hostname.split(".")[0] ?? "";
    const target = probes.get(id);
    if (!target) throw new TypeError("fetch failed");
    target.runtime.invocation(); // each pull is one Worker invocation
    return target.probe.handle(request);
  };
  const loop = new PullLoop({
    coordinator,
    secretFor: secretOf,
    fetch: toProbes,
    clock,
    log: silentLogger,
    ingest: async (request) => app.fetch(request),
  });
  return { clock, coordinator, loop, app, runtimes };
}

const WORKERS_LIMITS_FAKE = { connections: 6, subrequests: 50, latencyMs: () => 400 };

describe("a probe's own limits are never a down vote", () => {
  it("a Workers-like run of 60 checks against the 50-subrequest cap votes nothing down and shows 10 not checked per probe", async () => {
    const { clock, coordinator, loop, app, runtimes } = await workersMesh(30);
    const outcomes = await drive(clock, loop.round());
    expect(outcomes.map((o) => o.ok)).toEqual([true, true, true]);
    for (const svc of coordinator.config.services) {
      const verdicts = coordinator.verdicts(svc.name);
      expect([svc.name, verdicts.primary.verdict, verdicts.secondary.verdict]).not.toContain("down");
      expect(verdicts.primary.votes.down + verdicts.secondary.votes.down).toBe(0);
    }
    // The first 50 checks ran and count; the last 10 (services s25..s29) were not checked and count for nothing.
    expect(coordinator.verdicts("s24").secondary.verdict).toBe("up");
    expect(coordinator.verdicts("s25").primary.votes).toEqual({ up: 0, down: 0, abstain: 3 });
    for (const runtime of runtimes.values()) expect(runtime.peak).toBeLessThanOrEqual(6);
    const status = (await (
      await app.request("/v1/status", { headers: { authorization: "Bearer t" } })
    ).json()) as { probes: { id: string; notChecked: number }[] };
    expect(status.probes.map((p) => [p.id, p.notChecked])).toEqual(PROBES.map((id) => [id, 10]));
    const metrics = await (await app.request("/metrics")).text();
    expect(metrics).toContain('healthmesh_probe_not_checked{probe="cf-ams"} 10');
  });

  it("starts a check's timer when its request is sent, not while it waits for one of 6 connections", async () => {
    const clock = new ManualClock();
    const runtime = runtimeFake({ clock, connections: 6, latencyMs: () => 3000 });
    const checks = Array.from({ length: 12 }, (_, i) => check(`https://o${i}.test/`));
    const results = await drive(
      clock,
      runChecks(checks, { fetch: runtime.fetch, clock, slots: new CheckSlots(WORKERS_LIMITS) }),
    );
    expect(results.map((r) => [r.ok, r.latencyMs])).toEqual(checks.map(() => [true, 3000]));
    // The second six were sent when the first six ended: their checkedAt says so.
    expect(new Set(results.map((r) => r.checkedAt)).size).toBe(2);
    expect(runtime.peak).toBe(6);
  });

  it("keeps a server probe with 5,000 services (10,000 checks) to 256 sockets at once", async () => {
    const clock = new ManualClock();
    const runtime = runtimeFake({ clock, connections: 100_000, latencyMs: () => 100 });
    const checks = Array.from({ length: 10_000 }, (_, i) => check(`https://o${i}.test/`));
    const results = await drive(clock, runChecks(checks, { fetch: runtime.fetch, clock }), 100);
    expect(results.every((r) => r.ok && r.latencyMs === 100)).toBe(true);
    expect(runtime.peak).toBe(256);
  });

  it("reports EMFILE (Node), 'Too many open files' (Deno) and 'Too many subrequests' (workerd) as not checked", async () => {
    const clock = new ManualClock();
    const emfile = async () => {
      throw new TypeError("fetch failed", {
        cause: Object.assign(new Error("connect EMFILE 127.0.0.1:443 - Local (undefined:undefined)"), {
          code: "EMFILE",
        }),
      });
    };
    const result = await runCheck(check("https://web.test/"), { fetch: emfile, clock });
    expect(result).toMatchObject({ ok: false, skipped: "resources" });
    expect(result.error).toMatch(/^Not checked: the probe ran out of resources/);
    expect(probeLimitHit(new TypeError("error sending request: Too many open files (os error 24)"))).toBe(
      "resources",
    );
    expect(probeLimitHit(new Error("Too many subrequests."))).toBe("subrequest-cap");
    expect(probeLimitHit(new TypeError("fetch failed", { cause: { code: "ECONNREFUSED" } }))).toBeUndefined();
  });

  it("folds an EMFILE result into no streak: the vote stays where it was", async () => {
    const { coordinator, clock } = await workersMesh(1);
    const at = () => new Date(clock.now()).toISOString();
    const result = (ok: boolean, skipped?: "resources") => ({
      service: "s0",
      endpoint: "primary" as const,
      ok,
      checkedAt: at(),
      ...(skipped ? { skipped } : {}),
    });
    await coordinator.acceptReport({
      id: "a",
      probe: "cf-ams",
      sentAt: at(),
      healthy: true,
      results: [result(true)],
    });
    await clock.advance(1000);
    await coordinator.acceptReport({
      id: "b",
      probe: "cf-ams",
      sentAt: at(),
      healthy: true,
      results: [result(false, "resources")],
    });
    expect(coordinator.track("cf-ams", "s0", "primary")).toMatchObject({ fails: 0, oks: 1, vote: "up" });
    expect(coordinator.probe("cf-ams")?.notChecked).toBe(1);
  });

  it("reports failed checks as not checked (own network) when every canary fails too", async () => {
    const clock = new ManualClock();
    const down: typeof fetch = async () => {
      throw new TypeError("fetch failed", { cause: { code: "ENETUNREACH" } });
    };
    const assignments = {
      probe: "p",
      intervalMs: 10_000,
      checks: [check("https://web.test/")],
      canaries: ["https://canary.test/"],
    };
    const report = await runRound("p", assignments, { fetch: down, clock });
    expect(report.healthy).toBe(false);
    expect(report.results[0]).toMatchObject({ ok: false, skipped: "network" });
    const quiet = await runRound("p", assignments, { fetch: down, clock, sendSkipped: false });
    expect(quiet.results).toEqual([]); // a coordinator that does not know `skipped` never sees one
  });

  it("gives canaries the subrequest budget before the checks", async () => {
    const clock = new ManualClock();
    const runtime = runtimeFake({ clock, connections: 6, subrequests: 3, latencyMs: () => 10 });
    const assignments = {
      probe: "p",
      intervalMs: 10_000,
      checks: [check("https://a.test/"), check("https://b.test/"), check("https://c.test/")],
      canaries: ["https://canary.test/"],
    };
    const slots = new CheckSlots({ concurrency: 6, subrequests: 3 });
    const report = await drive(clock, runRound("p", assignments, { fetch: runtime.fetch, clock, slots }));
    expect(report.healthy).toBe(true);
    expect(report.results.map((r) => r.skipped ?? "checked")).toEqual([
      "checked",
      "checked",
      "subrequest-cap",
    ]);
  });

  it("reads concurrency and subrequest limits from the environment, naming a bad value", () => {
    const env = (values: Record<string, string>) => (name: string) => values[name];
    expect(limitsFromEnv(env({}), WORKERS_LIMITS)).toEqual({ concurrency: 6, subrequests: 50 });
    expect(limitsFromEnv(env({ HEALTHMESH_PROBE_SUBREQUESTS: "1000" }), WORKERS_LIMITS)).toEqual({
      concurrency: 6,
      subrequests: 1000,
    });
    expect(() => limitsFromEnv(env({ HEALTHMESH_PROBE_CONCURRENCY: "0" }), WORKERS_LIMITS)).toThrow(
      'Invalid HEALTHMESH_PROBE_CONCURRENCY: "0" is not a positive integer',
    );
  });
});
