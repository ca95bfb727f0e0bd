import { afterEach, describe, expect, it } from "vitest";
import { Coordinator } from "../../coordinator/coordinator.ts";
import { MemoryDnsProvider } from "../../coordinator/dns/memory.ts";
import { PullLoop } from "../../coordinator/pull.ts";
import { MemoryStore } from "../../coordinator/store/memory.ts";
import { createPullProbe } from "../../probes/pull.ts";
import { ManualClock } from "../../shared/clock.ts";
import { silentLogger } from "../../shared/log.ts";
import { type RunRequest, runRequestSchema } from "../../shared/protocol.ts";
import { meshConfig, meshEnv, routedFetch, secretEnv, type TestMember } from "../edges/fixtures.ts";
import { settle, trackWebCrypto } from "./settle.ts";

trackWebCrypto();

const PRIMARY = "https://primary.test/healthz";
const SECONDARY = "https://secondary.test/healthz";
const members: TestMember[] = [
  ...["cf-ams", "deno-fra"].map((id) => ({
    id,
    provider: id,
    mode: "pull" as const,
    url: `https://${id}.probe.test`,
  })),
  { id: "vps-hel", provider: "hetzner", mode: "push" },
];

const open: (() => void)[] = [];
afterEach(() => {
  for (const stop of open.splice(0)) stop();
});

/** Two pull members (in process) and one push member whose reports the test feeds by hand. */
async function mesh(options: { confirmInterval?: string; maxConfirming?: number } = {}) {
  const clock = new ManualClock();
  const web = { primaryUp: true };
  const env = meshEnv(members);
  const config = meshConfig({
    primaryUrl: PRIMARY,
    secondaryUrl: SECONDARY,
    members,
    interval: "10s",
    confirmInterval: options.confirmInterval ?? "2500ms",
    ...(options.maxConfirming ? { maxConfirming: options.maxConfirming } : {}),
  });
  const coordinator = await Coordinator.open({
    config,
    store: new MemoryStore(),
    clock,
    log: silentLogger,
    providers: [new MemoryDnsProvider()],
  });
  const runs: { at: number; probe: string; checks: string[] }[] = [];
  const routes: Parameters<typeof routedFetch>[0] = {};
  for (const member of members.filter((m) => m.mode === "pull")) {
    const probe = createPullProbe({
      id: member.id,
      secret: env[secretEnv(member.id)] ?? "",
      coordinators: [],
      fetch: routedFetch({
        [PRIMARY]: () => (web.primaryUp ? new Response("ok") : new Response("down", { status: 503 })),
        [SECONDARY]: () => new Response("ok"),
      }),
      clock,
      log: silentLogger,
    });
    routes[`${member.url}/`] = async (request) => {
      const run: RunRequest = runRequestSchema.parse(await request.clone().json());
      runs.push({ at: clock.now(), probe: member.id, checks: run.checks.map((c) => c.endpoint) });
      return probe.handle(request);
    };
  }
  const loop = new PullLoop({
    coordinator,
    secretFor: (id) => env[secretEnv(id)],
    fetch: routedFetch(routes),
    clock,
    log: silentLogger,
  });
  open.push(
    () => loop.stop(),
    () => coordinator.stop(),
  );
  let seq = 0;
  /** The push member reports the primary as it is now. */
  const pushReport = async () => {
    const at = new Date(clock.now()).toISOString();
    const report = {
      id: `push-${++seq}`,
      probe: "vps-hel",
      sentAt: at,
      healthy: true,
      results: [{ service: "web", endpoint: "primary" as const, ok: web.primaryUp, checkedAt: at }],
    };
    await coordinator.acceptReport(report);
    loop.noticeReport(report);
  };
  const run = async (ms: number, step = 50) => {
    const end = clock.now() + ms;
    do {
      await settle();
      await clock.advance(Math.min(step, end - clock.now()));
    } while (clock.now() < end);
    await settle();
  };
  return { clock, web, coordinator, loop, runs, pushReport, run };
}

describe("fast confirmation of pull-mode probes, asked by the coordinator", () => {
  it("asks every pull member for a run of just that endpoint as soon as any probe reports its first failure, then again confirmInterval later, and fails over before the next round", async () => {
    const m = await mesh();
    await m.loop.round();
    await m.run(0);
    const t0 = m.clock.now();
    m.web.primaryUp = false;
    await m.clock.advance(1000);
    await m.pushReport();
    await m.run(0);
    const confirming = m.runs.filter((r) => r.at > t0);
    // At once, both pull members check the primary alone (their first failure)…
    expect(confirming.map((r) => [r.at - t0, r.probe, r.checks])).toEqual([
      [1000, "cf-ams", ["primary"]],
      [1000, "deno-fra", ["primary"]],
    ]);
    await m.run(3000);
    // …and confirmInterval after those checks ended, again: failAfter 2 reached, both vote down.
    expect(m.runs.filter((r) => r.at > t0).map((r) => [r.at - t0, r.probe])).toEqual([
      [1000, "cf-ams"],
      [1000, "deno-fra"],
      [3500, "cf-ams"],
      [3500, "deno-fra"],
    ]);
    expect(m.coordinator.verdicts("web").primary.verdict).toBe("down");
    expect(m.coordinator.service("web").active).toBe("secondary");
    expect(m.loop.confirmRuns).toBe(4);
    await m.run(5000);
    expect(m.runs.filter((r) => r.at > t0)).toHaveLength(4); // the streak decided: no more confirmations
  });

  it("confirms at most maxConfirming endpoints per pull member", async () => {
    const m = await mesh({ maxConfirming: 1 });
    m.web.primaryUp = false;
    const at = new Date(m.clock.now()).toISOString();
    const report = {
      id: "two-failures",
      probe: "vps-hel",
      sentAt: at,
      healthy: true,
      results: (["primary", "secondary"] as const).map((endpoint) => ({
        service: "web",
        endpoint,
        ok: false,
        checkedAt: at,
      })),
    };
    await m.coordinator.acceptReport(report);
    m.loop.noticeReport(report);
    await m.run(0);
    expect(m.runs.map((r) => [r.probe, r.checks])).toEqual([
      ["cf-ams", ["primary"]],
      ["deno-fra", ["primary"]],
    ]);
  });

  it("asks for nothing extra with confirmInterval 0s", async () => {
    const m = await mesh({ confirmInterval: "0s" });
    m.web.primaryUp = false;
    await m.pushReport();
    await m.loop.round();
    await m.run(9000);
    expect(m.runs.map((r) => r.checks.length)).toEqual([2, 2]);
    expect(m.loop.confirmRuns).toBe(0);
  });
});
