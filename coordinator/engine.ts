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
  /** When the last switch of any kind happened (ms), or null. Shown in status; decisions do not use it. */
  lastSwitchAt: number | null;
  /**
   * Since when the primary has been UP by quorum without a break (ms), or null while it is not UP:
   * an automatic fail-back waits until it has been UP for `holdDown` (fail back slow).
   */
  primaryUpSince: number | null;
  /** The episode flags: set while a both-down, a held or suppressed switch, or a DOWN live path lasts, so each is reported once. */
  bothDown: boolean;
  held: boolean;
  activeDown: boolean;
}

/** The fields a service state has before anything happened to it. */
export function initialState(name: string): ServiceState {
  return {
    name,
    active: "primary",
    mode: "auto",
    lastSwitchAt: null,
    primaryUpSince: null,
    bothDown: false,
    held: false,
    activeDown: false,
  };
}

/** The verdicts of one round, with their tallies. */
export interface RoundVerdicts {
  primary: { verdict: Verdict; votes: Tally };
  secondary: { verdict: Verdict; votes: Tally };
}

/** Why a switch is wanted: the live path is DOWN, or (fail-back only) the primary earned its way back. */
export type SwitchReason = "live-down" | "primary-stable";

/** What one round decides for one service. */
export type Decision =
  | { kind: "none" }
  | { kind: "switch"; type: "failover" | "failback"; from: Endpoint; to: Endpoint; reason: SwitchReason }
  | { kind: "held"; type: "failback"; to: Endpoint; until: number }
  | { kind: "suppressed"; type: "failover" | "failback"; to: Endpoint; mode: "paused" | "pinned" }
  | { kind: "both-down" }
  | { kind: "active-down"; active: Endpoint };

/** Service settings the engine needs. */
export interface DecisionPolicy {
  autoFailback: boolean;
  holdDownMs: number;
}

/** The primary's "UP since" after a round with this verdict: kept while UP, started when it turns UP, cleared otherwise. */
export function nextPrimaryUpSince(previous: number | null, primary: Verdict, now: number): number | null {
  if (primary !== "up") return null;
  return previous ?? now;
}

/** The switch the verdicts call for, or a held fail-back, before the mode is considered. */
function wantedSwitch(
  state: ServiceState,
  primary: Verdict,
  secondary: Verdict,
  policy: DecisionPolicy,
  now: number,
): Extract<Decision, { kind: "switch" | "held" }> | null {
  if (state.active === "primary") {
    // Fail over fast: leaving a DOWN live path is never held (both DOWN was handled before).
    if (primary === "down") {
      return { kind: "switch", type: "failover", from: "primary", to: "secondary", reason: "live-down" };
    }
    return null;
  }
  if (primary !== "up") return null;
  // Never stay on a dead secondary: back to an UP primary at once, whatever autoFailback and holdDown say.
  if (secondary === "down") {
    return { kind: "switch", type: "failback", from: "secondary", to: "primary", reason: "live-down" };
  }
  if (!policy.autoFailback) return null;
  // Fail back slow: only once the primary has been UP continuously for holdDown.
  const until = (state.primaryUpSince ?? now) + policy.holdDownMs;
  if (now < until) return { kind: "held", type: "failback", to: "primary", until };
  return { kind: "switch", type: "failback", from: "secondary", to: "primary", reason: "primary-stable" };
}

/**
 * Decides one round. `state.primaryUpSince` must already account for this round's primary verdict
 * (see `nextPrimaryUpSince`). Fails over at once when the primary is DOWN and the secondary is not;
 * fails back at once when the live secondary is DOWN and the primary UP; otherwise fails back (when
 * allowed) only once the primary has been UP for `holdDown` (`held` until then); never when paused
 * or pinned (`suppressed`, so the operator hears of it). Both paths DOWN, and a DOWN live path with
 * nowhere known-good to go, are reported in every mode and never switch.
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
  const wanted = wantedSwitch(state, primary, secondary, policy, now);
  if (wanted?.kind === "switch" && state.mode !== "auto") {
    return { kind: "suppressed", type: wanted.type, to: wanted.to, mode: state.mode };
  }
  // A fail-back that is not due yet means nothing while an operator holds the service.
  if (wanted && state.mode === "auto") return wanted;
  const live = state.active === "primary" ? primary : secondary;
  const other = state.active === "primary" ? secondary : primary;
  if (live === "down" && other === "unknown") return { kind: "active-down", active: state.active };
  return { kind: "none" };
}
