/**
 * Fast confirmation, the coordinator's side (CONTRACT §3): the settings a probe needs, served in its
 * assignments to probes that ask for them. Pure functions over the config.
 */
import type { Config } from "../shared/config-schema.ts";
import type { Assignments } from "../shared/protocol.ts";

/** How many endpoints one probe confirms at once when `probes.maxConfirming` is not set. */
export const DEFAULT_MAX_CONFIRMING = 16;

/** The effective confirmation settings: `confirmInterval` defaults to a quarter of `interval`; 0 is off. */
export function confirmSettings(probes: Config["probes"]): {
  confirmIntervalMs: number;
  maxConfirming: number;
} {
  return {
    confirmIntervalMs: probes.confirmInterval ?? Math.round(probes.interval / 4),
    maxConfirming: probes.maxConfirming ?? DEFAULT_MAX_CONFIRMING,
  };
}

/** Adds the confirmation settings and each check's `failAfter` to a probe's assignments. */
export function withConfirmation(assignments: Assignments, config: Config): Assignments {
  const failAfter = new Map(config.services.map((svc) => [svc.name, svc.failAfter]));
  return {
    ...assignments,
    ...confirmSettings(config.probes),
    checks: assignments.checks.map((check) => {
      const streak = failAfter.get(check.service);
      return streak === undefined ? check : { ...check, failAfter: streak };
    }),
  };
}
