/**
 * Results a probe could not check (CONTRACT §4): its own limits are never a vote, so the fold skips
 * them and status counts them. Pure functions over the wire type.
 */
import type { CheckResult } from "./protocol.ts";

/** Whether a result is a real check of its endpoint (not one the probe could not run). */
export function isChecked(result: Pick<CheckResult, "skipped">): boolean {
  return result.skipped === undefined;
}

/** The results of a report that count towards streaks, in their order. */
export function checkedResults<T extends Pick<CheckResult, "skipped">>(results: readonly T[]): T[] {
  return results.filter(isChecked);
}

/** How many results of a report the probe could not check. */
export function notCheckedCount(results: readonly Pick<CheckResult, "skipped">[]): number {
  return results.length - checkedResults(results).length;
}
