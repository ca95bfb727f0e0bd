/** The behaviour every pull-mode probe runtime must show against a real loopback coordinator. */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { RunningCoordinator } from "../../coordinator/node.ts";
import { type Origin, startOrigin } from "../../demo/origins.ts";
import { FEATURES_HEADER, reportSchema } from "../../shared/protocol.ts";
import { verifySignature } from "../../shared/signing.ts";
import { meshConfig, meshEnv, secretEnv, signedRun, type TestMember } from "./fixtures.ts";
import {
  deadUrl,
  type Front,
  type ProbeEnv,
  type RuntimeProbe,
  startFront,
  startTestCoordinator,
} from "./runtimes.ts";

const WAIT = { timeout: 20_000, interval: 50 };

/** How one runtime starts its probe and makes it push a backstop report. */
export interface ProbeRuntime<P extends RuntimeProbe> {
  title: string;
  id: string;
  provider: string;
  start(env: ProbeEnv): Promise<P>;
  /** Makes the probe push its backstop report (or waits for the one it pushes at start). */
  backstop(probe: P): Promise<void>;
  cleanup?(): void;
  /** Subrequests one invocation may make (Workers free plan: 50); absent where there is no cap. */
  subrequests?: number;
}

/** The same behaviour, proven in every runtime: backstop push, pulled votes, refusals, canaries. */
export function describeProbeRuntime<P extends RuntimeProbe>(runtime: ProbeRuntime<P>): void {
  const ID = runtime.id;
  describe(runtime.title, () => {
    let primary: Origin;
    let secondary: Origin;
    let front: Front;
    let coordinator: RunningCoordinator;
    let probe: P;
    let members: TestMember[];
    let env: Record<string, string>;
    let secret: string;
    let seenBeforePulls: boolean;

    beforeAll(async () => {
      primary = await startOrigin("cf-front");
      secondary = await startOrigin("cdn2-front");
      front = await startFront();
      members = [{ id: ID, provider: runtime.provider, mode: "pull", url: front.url }];
      env = meshEnv(members);
      secret = env[secretEnv(ID)] ?? "";
      const config = meshConfig({
        primaryUrl: `${primary.url}/healthz`,
        secondaryUrl: `${secondary.url}/healthz`,
        members,
        interval: "500ms",
        pullTimeout: "3s",
      });
      coordinator = await startTestCoordinator(config, env);
      probe = await runtime.start({ id: ID, secret, coordinators: [coordinator.url] });
      await runtime.backstop(probe);
      // Nothing can pull before the front has a target, so a report seen now came from the backstop push.
      await vi.waitFor(() => expect(coordinator.coordinator.probe(ID)?.lastSeen).toBeTypeOf("number"), WAIT);
      seenBeforePulls = true;
      front.target = probe.url;
    }, 90_000);

    afterAll(async () => {
      await probe?.close();
      await coordinator?.close();
      await Promise.all([front?.close(), primary?.close(), secondary?.close()]);
      runtime.cleanup?.();
    });

    it("pushes a backstop report that the coordinator accepts", () => {
      expect(seenBeforePulls).toBe(true);
      expect(coordinator.coordinator.probe(ID)?.healthy).toBe(true);
    });

    it("answers the coordinator's signed pulls, and its vote fails the service over", async () => {
      const votes = () => coordinator.coordinator.verdicts("web").counted.primary.map((v) => v.vote);
      await vi.waitFor(() => expect(votes()).toEqual(["up"]), WAIT);
      expect(coordinator.coordinator.service("web").active).toBe("primary");
      primary.up = false;
      await vi.waitFor(() => expect(coordinator.coordinator.service("web").active).toBe("secondary"), WAIT);
      expect(votes()).toEqual(["down"]);
      const outcomes = await coordinator.pulls.round();
      expect(outcomes.map((o) => [o.probe, o.ok])).toEqual([[ID, true]]);
      primary.up = true;
    });

    it("keeps to its runtime's subrequest cap: a run of 60 checks reports the ones past it as not checked", async () => {
      const assigned = coordinator.coordinator.assignments(ID);
      const checks = Array.from({ length: 30 }, () => assigned.checks).flat();
      const run = { ...assigned, checks, id: crypto.randomUUID() };
      const request = await signedRun(probe.url, run, { secret, nowMs: Date.now() });
      request.headers.set(FEATURES_HEADER, "skipped");
      const response = await fetch(request);
      expect(response.status).toBe(200);
      const report = reportSchema.parse(await response.json());
      const skipped = report.results.filter((r) => r.skipped !== undefined);
      const cap = runtime.subrequests ?? checks.length;
      expect(report.results).toHaveLength(60);
      expect(skipped.map((r) => r.skipped)).toEqual(Array(60 - cap).fill("subrequest-cap"));
      expect(report.results.slice(0, cap).every((r) => r.ok)).toBe(true);
    });

    it("refuses a forged pull request and a replayed one with 401", async () => {
      const run = { ...coordinator.coordinator.assignments(ID), id: crypto.randomUUID() };
      const forged = await fetch(await signedRun(probe.url, run, { secret: "guessed", nowMs: Date.now() }));
      expect(forged.status).toBe(401);
      expect(await forged.json()).toMatchObject({ error: { code: "bad_signature" } });

      const genuine = await fetch(await signedRun(probe.url, run, { secret, nowMs: Date.now() }));
      expect(genuine.status).toBe(200);
      const text = await genuine.text();
      const check = await verifySignature(genuine.headers, text, {
        secretFor: () => secret,
        nowMs: Date.now(),
      });
      expect(check.ok).toBe(true);
      expect(reportSchema.parse(JSON.parse(text)).probe).toBe(ID);

      const replayed = await fetch(await signedRun(probe.url, run, { secret, nowMs: Date.now() }));
      expect(replayed.status).toBe(401);
      expect(await replayed.json()).toMatchObject({ error: { code: "replayed" } });
    });

    it("is counted as abstaining by a coordinator whose canaries it cannot reach", async () => {
      const canaryFront = await startFront();
      canaryFront.target = probe.url;
      const config = meshConfig({
        primaryUrl: `${primary.url}/healthz`,
        secondaryUrl: `${secondary.url}/healthz`,
        members: [{ ...members[0], id: ID, provider: runtime.provider, mode: "pull", url: canaryFront.url }],
        interval: "500ms",
        canaries: [await deadUrl()],
      });
      const second = await startTestCoordinator(config, env);
      try {
        primary.up = false;
        await vi.waitFor(() => expect(second.coordinator.probe(ID)?.healthy).toBe(false), WAIT);
        await second.pulls.round();
        expect(second.coordinator.verdicts("web").counted.primary.map((v) => v.vote)).toEqual(["abstain"]);
        expect(second.coordinator.service("web").active).toBe("primary");
      } finally {
        primary.up = true;
        await second.close();
        await canaryFront.close();
      }
    });
  });
}
