import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { RunningCoordinator } from "../../coordinator/node.ts";
import { type Origin, startOrigin } from "../../demo/origins.ts";
import { meshConfig, meshEnv, secretEnv, type TestMember } from "./fixtures.ts";
import {
  bundleWorker,
  type Front,
  type RuntimeProbe,
  startDenoProbe,
  startFront,
  startHungServer,
  startNodeProbe,
  startTestCoordinator,
  startWorkerProbe,
} from "./runtimes.ts";

const WAIT = { timeout: 30_000, interval: 50 };

describe("a mesh of a Deno, a Worker and a Node probe, each in its real runtime, and one hung edge", () => {
  let primary: Origin;
  let secondary: Origin;
  let fronts: Front[] = [];
  let coordinator: RunningCoordinator;
  let probes: RuntimeProbe[] = [];
  let bundleDir: string | null = null;
  let env: Record<string, string>;
  let hung: Awaited<ReturnType<typeof startHungServer>>;

  beforeAll(async () => {
    primary = await startOrigin("cf-front");
    secondary = await startOrigin("cdn2-front");
    fronts = [await startFront(), await startFront()];
    hung = await startHungServer();
    const [denoFront, workerFront] = fronts;
    if (!denoFront || !workerFront) throw new Error("Cannot start the fronts");
    const members: TestMember[] = [
      { id: "deno-fra", provider: "deno-deploy", mode: "pull", url: denoFront.url },
      { id: "cf-ams", provider: "cloudflare-workers", mode: "pull", url: workerFront.url },
      { id: "fly-iad", provider: "fly", mode: "push" },
      // A pull member that accepts the connection and never answers.
      { id: "deno-hung", provider: "deno-deploy", mode: "pull", url: hung.url },
    ];
    env = meshEnv(members);
    const config = meshConfig({
      primaryUrl: `${primary.url}/healthz`,
      secondaryUrl: `${secondary.url}/healthz`,
      members,
      interval: "500ms",
      pullTimeout: "1s",
    });
    coordinator = await startTestCoordinator(config, env);
    const settings = (id: string) => ({
      id,
      secret: env[secretEnv(id)] ?? "",
      coordinators: [coordinator.url],
    });
    const bundle = await bundleWorker();
    bundleDir = bundle.dir;
    const [deno, worker, node] = await Promise.all([
      startDenoProbe(settings("deno-fra")),
      startWorkerProbe(bundle.file, settings("cf-ams")),
      startNodeProbe(settings("fly-iad")),
    ]);
    probes = [deno, worker, node];
    denoFront.target = deno.url;
    workerFront.target = worker.url;
  }, 120_000);

  afterAll(async () => {
    await Promise.all(probes.map((p) => p.close()));
    await coordinator?.close();
    await Promise.all([...fronts.map((f) => f.close()), hung?.close(), primary?.close(), secondary?.close()]);
    if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
  });

  const votes = () =>
    Object.fromEntries(coordinator.coordinator.verdicts("web").counted.primary.map((v) => [v.probe, v.vote]));

  async function dnsTarget(): Promise<string | null | undefined> {
    const response = await fetch(`${coordinator.url}/v1/status`, {
      headers: { authorization: `Bearer ${env.HEALTHMESH_API_TOKEN}` },
    });
    const status = (await response.json()) as {
      services: { name: string; dns: Record<string, { target: string | null }> }[];
    }; // the shape of GET /v1/status (CONTRACT §6)
    return status.services.find((s) => s.name === "web")?.dns.memory?.target;
  }

  it("sees the primary up from all three runtimes, and the hung edge as silent, abstaining", async () => {
    await vi.waitFor(
      () =>
        expect(votes()).toEqual({
          "deno-fra": "up",
          "cf-ams": "up",
          "fly-iad": "up",
          "deno-hung": "abstain",
        }),
      WAIT,
    );
    expect(coordinator.coordinator.service("web").active).toBe("primary");
    await vi.waitFor(async () => {
      const events = await coordinator.coordinator.events({});
      expect(events.some((e) => e.type === "probe.silent" && e.message.includes('"deno-hung"'))).toBe(true);
    }, WAIT);
    expect(hung.requests).toBeGreaterThan(0);
    expect(coordinator.coordinator.probe("deno-hung")).toMatchObject({ silent: true, lastSeen: null });
  });

  it("fails the service over by majority when the primary goes down, and switches DNS", async () => {
    primary.up = false;
    await vi.waitFor(() => expect(coordinator.coordinator.service("web").active).toBe("secondary"), WAIT);
    const events = await coordinator.coordinator.events({});
    const failover = events.find((e) => e.type === "failover");
    expect(failover?.from).toBe("primary");
    expect(failover?.votes?.primary).toMatchObject({ down: 3, abstain: 1 });
    await vi.waitFor(async () => expect(await dnsTarget()).toBe("cdn2-front.example.com."), WAIT);
    // 3 "down" of 4 configured probes is a majority; the hung edge never voted "down".
    await vi.waitFor(
      () =>
        expect(votes()).toEqual({
          "deno-fra": "down",
          "cf-ams": "down",
          "fly-iad": "down",
          "deno-hung": "abstain",
        }),
      WAIT,
    );
  });

  it("counts pulled reports in /metrics like pushed ones", async () => {
    const response = await fetch(`${coordinator.url}/metrics`, {
      headers: { authorization: `Bearer ${env.HEALTHMESH_API_TOKEN}` },
    });
    const text = await response.text();
    for (const probe of ["deno-fra", "cf-ams", "fly-iad"]) {
      expect(text).toMatch(new RegExp(`^healthmesh_reports_accepted_total\\{probe="${probe}"\\} [1-9]`, "m"));
    }
    expect(text).not.toContain('healthmesh_reports_accepted_total{probe="deno-hung"}');
  });
});
