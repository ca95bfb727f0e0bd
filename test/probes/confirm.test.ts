import { afterEach, describe, expect, it } from "vitest";
import { PushProbe } from "../../probes/push.ts";
import { configFromObject } from "../../shared/config.ts";
import { silentLogger } from "../../shared/log.ts";
import { type Report, reportSchema } from "../../shared/protocol.ts";
import { configObject, secretOf, testCoordinator } from "../helpers.ts";
import { settle, trackWebCrypto } from "./settle.ts";

trackWebCrypto();

const PRIMARY = "https://cf-front.example.com/healthz";

/** How an origin answers one check: a status after a latency, or no answer until the check gives up. */
type Answer = { status: number; latencyMs: number } | "hang";

const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

/** A push probe p1 against a coordinator on a ManualClock; `answer` decides each primary check. */
async function confirmingProbe(options: {
  probes?: Record<string, unknown>;
  service?: Record<string, unknown>;
  answer: (n: number) => Answer;
}) {
  const config = configFromObject(
    configObject({
      probesExtra: { confirmInterval: "2500ms", ...options.probes },
      service: { failAfter: 3, recoverAfter: 2, ...options.service },
    }),
  );
  const mesh = await testCoordinator({ config });
  const { clock, app, coordinator } = mesh;
  const checks: { start: number; end: number | null }[] = [];
  const reports: Report[] = [];
  let open = 0;
  let peakOpen = 0;
  const world: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    if (request.url.startsWith("http://coordinator")) {
      if (request.method === "POST") reports.push(reportSchema.parse(await request.clone().json()));
      return app.fetch(request);
    }
    if (request.url !== PRIMARY) return new Response("ok");
    const entry = { start: clock.now(), end: null as number | null };
    checks.push(entry);
    open++;
    peakOpen = Math.max(peakOpen, open);
    const answer = options.answer(checks.length);
    try {
      await new Promise<void>((resolve, reject) => {
        const cancel = answer === "hang" ? () => {} : clock.setTimer(resolve, answer.latencyMs);
        request.signal.addEventListener("abort", () => {
          cancel();
          reject(request.signal.reason);
        });
      });
      return new Response("ok", { status: answer === "hang" ? 200 : answer.status });
    } finally {
      open--;
      entry.end = clock.now();
    }
  };
  const probe = new PushProbe({
    id: "p1",
    secret: secretOf("p1"),
    coordinators: ["http://coordinator"],
    fetch: world,
    clock,
    log: silentLogger,
  });
  stops.push(
    () => probe.stop(),
    () => coordinator.stop(),
  );
  /** Moves simulated time in 50 ms steps, letting signing (real-time WebCrypto) finish at each. */
  const run = async (ms: number) => {
    const end = clock.now() + ms;
    while (clock.now() < end) {
      await settle();
      await clock.advance(50);
    }
  };
  return { clock, probe, coordinator, checks, reports, run, peak: () => peakOpen, t0: clock.now() };
}

const failing: Answer = { status: 503, latencyMs: 100 };
const healthy: Answer = { status: 200, latencyMs: 100 };

describe("fast confirmation on a push probe", () => {
  it("re-checks a failed endpoint confirmInterval after the previous check ended, until failAfter, and votes down within one interval", async () => {
    const mesh = await confirmingProbe({ answer: () => failing });
    mesh.probe.start();
    await mesh.run(12_000);
    const starts = mesh.checks.map((c) => c.start - mesh.t0);
    // Round at 0 (ends at 100), confirmations at 2600 and 5200 (failAfter 3 reached), next round at 10 000.
    expect(starts).toEqual([0, 2600, 5200, 10_000]);
    // Four failed checks; the streak stops at failAfter (3).
    expect(mesh.coordinator.track("p1", "web", "primary")).toMatchObject({ fails: 3, vote: "down" });
    expect(mesh.probe.confirmations).toBe(2);
    // Each failure went out at once, alone, signed and accepted; the round's own report left it out.
    const alone = mesh.reports.filter((r) => r.results.length === 1 && r.results[0]?.endpoint === "primary");
    expect(alone.map((r) => Date.parse(r.results[0]?.checkedAt ?? "") - mesh.t0)).toEqual([0, 2600, 5200]);
  });

  it("stops confirming at the first good check and never speeds recovery up", async () => {
    const answers = [failing, healthy, failing, failing, failing, healthy, healthy];
    const mesh = await confirmingProbe({ answer: (n) => answers[n - 1] ?? healthy });
    mesh.probe.start();
    await mesh.run(61_000);
    const starts = mesh.checks.map((c) => c.start - mesh.t0);
    // fail@0 → confirm@2600 ok → round@10000 fail → 12600 fail → 15200 fail (down) → rounds only.
    expect(starts.slice(0, 8)).toEqual([0, 2600, 10_000, 12_600, 15_200, 20_000, 30_000, 40_000]);
  });

  it("never runs two checks of one endpoint at once: a round skips an endpoint whose confirmation is in flight", async () => {
    // Every check hangs until its 5 s timeout: round 0–5000, confirmation 7500–12 500 spans the round at
    // 10 000 (skipped for this endpoint), confirmation 15 000–20 000 is the 4th failure, then rounds only.
    const mesh = await confirmingProbe({ answer: () => "hang", service: { failAfter: 4 } });
    mesh.probe.start();
    await mesh.run(25_000);
    expect(mesh.peak()).toBe(1);
    const starts = mesh.checks.map((c) => c.start - mesh.t0);
    expect(starts.slice(0, 4)).toEqual([0, 7500, 15_000, 20_000]);
  });

  it("confirms at most maxConfirming endpoints at once", async () => {
    const services = ["a", "b", "c"].map((name) => ({
      ...configObject().services[0],
      name,
      router: `${name}-router`,
      primary: { target: "p.example.com.", check: { url: `https://${name}.test/` } },
      secondary: { target: "s.example.com.", check: { url: `https://${name}-2.test/` } },
    }));
    const config = configFromObject({
      ...configObject({ probesExtra: { confirmInterval: "2500ms", maxConfirming: 2 } }),
      services,
    });
    const mesh = await testCoordinator({ config });
    const started: string[] = [];
    const probe = new PushProbe({
      id: "p1",
      secret: secretOf("p1"),
      coordinators: ["http://coordinator"],
      fetch: async (input, init) => {
        const request = new Request(input, init);
        if (request.url.startsWith("http://coordinator")) return mesh.app.fetch(request);
        started.push(`${mesh.clock.now() - 0}:${new URL(request.url).hostname}`);
        return new Response("down", { status: request.url.includes("-2.") ? 200 : 503 });
      },
      clock: mesh.clock,
      log: silentLogger,
    });
    stops.push(
      () => probe.stop(),
      () => mesh.coordinator.stop(),
    );
    const t0 = mesh.clock.now();
    await probe.round();
    await mesh.clock.advance(2500);
    await settle();
    const confirmed = started.filter((s) => Number(s.split(":")[0]) === t0 + 2500);
    expect(confirmed).toHaveLength(2);
    expect(probe.confirmations).toBe(2);
  });

  it("runs no extra check with confirmInterval 0s", async () => {
    const mesh = await confirmingProbe({ answer: () => failing, probes: { confirmInterval: "0s" } });
    mesh.probe.start();
    await mesh.run(31_000);
    expect(mesh.checks.map((c) => c.start - mesh.t0)).toEqual([0, 10_000, 20_000, 30_000]);
    expect(mesh.probe.confirmations).toBe(0);
  });
});
