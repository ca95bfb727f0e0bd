/** The decision engine (CONTRACT §4): from two verdicts and a service's state to at most one action. */
import type { Endpoint } from "../shared/protocol.ts";
import type { Tally, Verdict } from "../shared/quorum.ts";

/** How a service is being driven. */
export type ServiceMode = "auto" | "paused" | "pinned";

/** What the store keeps of a service between rounds. */
export interface ServiceState {
  name: string;
  active: Endpoint;
  mode: ServiceMode;
  /** When the last switch of any kind happened (ms), or null. */
  lastSwitchAt: number | null;
  /** The episode flags: set while a both-down or held-flap condition lasts, so each is reported once. */
  bothDown: boolean;
  held: boolean;
}

/** The verdicts of one round, with their tallies. */
export interface RoundVerdicts {
  primary: { verdict: Verdict; votes: Tally };
  secondary: { verdict: Verdict; votes: Tally };
}

/** What one round decides for one service. */
export type Decision =
  | { kind: "none" }
  | { kind: "switch"; type: "failover" | "failback"; from: Endpoint; to: Endpoint }
  | { kind: "held"; type: "failover" | "failback"; to: Endpoint; until: number }
  | { kind: "suppressed"; type: "failover" | "failback"; to: Endpoint; mode: "paused" | "pinned" }
  | { kind: "both-down" };

/** Service settings the engine needs. */
export interface DecisionPolicy {
  autoFailback: boolean;
  holdDownMs: number;
}

/**
 * Decides one round: fail over when the primary is DOWN and the secondary is not; fail back (when
 * allowed) when the primary is UP; never within `holdDown` of the last switch (`held`), never when
 * paused or pinned (`suppressed`, so the operator hears of it). Both paths DOWN is reported in every
 * mode and never switches.
 */
export function decide(
  state: ServiceState,
  verdicts: RoundVerdicts,
  policy: DecisionPolicy,
  now: number,
): Decision {
  const primary = verdicts.primary.verdict;
  const secondary = verdicts.secondary.verdict;
  // Both paths down is worth an alert whatever the mode: an operator who paused or pinned must know.
  if (primary === "down" && secondary === "down") return { kind: "both-down" };

  let wanted: Extract<Decision, { kind: "switch" }> | null = null;
  if (state.active === "primary" && primary === "down") {
    wanted = { kind: "switch", type: "failover", from: "primary", to: "secondary" };
  } else if (state.active === "secondary" && policy.autoFailback && primary === "up") {
    wanted = { kind: "switch", type: "failback", from: "secondary", to: "primary" };
  }
  if (!wanted) return { kind: "none" };
  if (state.mode !== "auto")
    return { kind: "suppressed", type: wanted.type, to: wanted.to, mode: state.mode };
  if (state.lastSwitchAt !== null && now - state.lastSwitchAt < policy.holdDownMs) {
    return { kind: "held", type: wanted.type, to: wanted.to, until: state.lastSwitchAt + policy.holdDownMs };
  }
  return wanted;
}
