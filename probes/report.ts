/** Builds and signs a probe's report: shared by the push loop and the pull handlers. Web APIs only. */
import type { Assignments, Report } from "../shared/protocol.ts";
import { signedHeaders } from "../shared/signing.ts";
import { type CheckWorld, canariesHealthy, runChecks } from "./checks.ts";

/** Runs a round of assigned checks (and the canaries) and returns the report. */
export async function runRound(
  probeId: string,
  assignments: Assignments,
  world: CheckWorld,
): Promise<Report> {
  const [results, healthy] = await Promise.all([
    runChecks(assignments.checks, world),
    canariesHealthy(assignments.canaries, world),
  ]);
  return {
    id: crypto.randomUUID(),
    probe: probeId,
    sentAt: new Date(world.clock.now()).toISOString(),
    healthy,
    results,
  };
}

/** Serializes a report and signs it with the probe's secret. */
export async function signReport(
  report: Report,
  secret: string,
  nowMs: number,
): Promise<{ body: string; headers: Record<string, string> }> {
  const body = JSON.stringify(report);
  const headers = await signedHeaders(report.probe, secret, body, nowMs);
  return { body, headers: { ...headers, "content-type": "application/json" } };
}
