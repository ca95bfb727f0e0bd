/** Builds and signs a probe's report: shared by the push loop and the pull handlers. Web APIs only. */
import { type Assignments, type CheckResult, MAX_BODY_BYTES, type Report } from "../shared/protocol.ts";
import { signedHeaders } from "../shared/signing.ts";
import { type CheckWorld, canariesHealthy, notChecked, runChecks } from "./checks.ts";
import { CheckSlots, SERVER_LIMITS } from "./limits.ts";

/** How a round treats checks it could not run. */
export interface RoundOptions {
  /** Whether the receiver understands not-checked results; when false they are left out of the report. */
  sendSkipped?: boolean;
}

/**
 * Runs a round of assigned checks and the canaries within the world's slots (canaries take the
 * subrequest budget first) and returns the report. When every canary fails, the probe's own network
 * is the likelier culprit, so its failed checks are reported as not checked.
 */
export async function runRound(
  probeId: string,
  assignments: Assignments,
  world: CheckWorld & RoundOptions,
): Promise<Report> {
  const slots = world.slots ?? new CheckSlots(SERVER_LIMITS);
  const shared = { fetch: world.fetch, clock: world.clock, slots };
  // Canaries first: their slots are taken in call order, before the checks can spend the budget.
  const healthy = canariesHealthy(assignments.canaries, shared);
  const checked = runChecks(assignments.checks, shared);
  const [results, canariesOk] = await Promise.all([checked, healthy]);
  return {
    id: crypto.randomUUID(),
    probe: probeId,
    sentAt: new Date(world.clock.now()).toISOString(),
    healthy: canariesOk,
    results: reportable(canariesOk ? results : results.map(ownNetwork), world.sendSkipped ?? true),
  };
}

/** A failed result as not checked: the probe's own network failed (its canaries too). */
export function ownNetwork(result: CheckResult): CheckResult {
  if (result.ok || result.skipped) return result;
  return notChecked(result, "network", Date.parse(result.checkedAt), result.error);
}

/** The results to send: not-checked ones only to a receiver that understands them. */
export function reportable(results: CheckResult[], sendSkipped: boolean): CheckResult[] {
  return sendSkipped ? results : results.filter((r) => r.skipped === undefined);
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

const utf8 = new TextEncoder();

/**
 * Splits a round's report into reports whose serialized bodies each fit in `maxBytes` (CONTRACT §5's
 * body limit by default): same probe, `sentAt` and `healthy`, each its own `id`, the results in order.
 * A round with no results stays one report; a single result larger than the limit goes alone.
 */
export function splitReport(
  report: Report,
  maxBytes: number = MAX_BODY_BYTES,
  newId: () => string = () => crypto.randomUUID(),
): Report[] {
  const parts: Report[] = [];
  let part: Report = { ...report, results: [] };
  let size = envelopeBytes(part);
  for (const result of report.results) {
    const bytes = utf8.encode(JSON.stringify(result)).length;
    // A result after the first in a part also costs its separating comma.
    if (part.results.length > 0 && size + bytes + 1 > maxBytes) {
      parts.push(part);
      part = { ...report, id: newId(), results: [] };
      size = envelopeBytes(part);
    }
    size += part.results.length > 0 ? bytes + 1 : bytes;
    part.results.push(result);
  }
  parts.push(part);
  return parts;
}

/** The serialized size of a report without its results (`"results":[]` included). */
function envelopeBytes(report: Report): number {
  return utf8.encode(JSON.stringify({ ...report, results: [] })).length;
}
