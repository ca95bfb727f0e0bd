/** One decision round for one service, and the silence check for probes: pure, time passed in. */
import type { ProbeMember, ServiceConfig } from "../shared/config-schema.ts";
import { formatDuration } from "../shared/duration.ts";
import { isSilent, STALE_INTERVALS, type Tally } from "../shared/quorum.ts";
import {
  type Decision,
  decide,
  nextPrimaryUpSince,
  type RoundVerdicts,
  type ServiceState,
} from "./engine.ts";
import type { NewEvent, ProbeRow } from "./store/store.ts";

/** What a round changes for one service: its next state, the events to record, and a switch if any. */
export interface ServicePlan {
  next: ServiceState;
  events: NewEvent[];
  switchTo: ServiceState["active"] | null;
}

const fmt = (t: Tally) => `${t.down} down, ${t.up} up, ${t.abstain} abstain`;
const iso = (ms: number) => new Date(ms).toISOString();

/** Plans one service's round: the primary's UP-since clock, the decision, the episode flags and their events. */
export function planService(
  svc: ServiceConfig,
  state: ServiceState,
  verdicts: RoundVerdicts,
  now: number,
): ServicePlan {
  const votes = { primary: verdicts.primary.votes, secondary: verdicts.secondary.votes };
  const current: ServiceState = {
    ...state,
    primaryUpSince: nextPrimaryUpSince(state.primaryUpSince, verdicts.primary.verdict, now),
  };
  const policy = { autoFailback: svc.autoFailback, holdDownMs: svc.holdDown };
  const decision = decide(current, verdicts, policy, now);
  const tally = `primary ${verdicts.primary.verdict} (${fmt(votes.primary)}), secondary ${verdicts.secondary.verdict} (${fmt(votes.secondary)})`;
  const base = { at: now, service: svc.name, votes };
  const next: ServiceState = {
    ...current,
    // One flag for both kinds of "wanted but not done" episodes, so each is reported once.
    held: decision.kind === "held" || decision.kind === "suppressed",
    bothDown: decision.kind === "both-down",
    activeDown: decision.kind === "active-down",
  };
  let switchTo: ServicePlan["switchTo"] = null;
  if (decision.kind === "switch") {
    next.active = decision.to;
    next.lastSwitchAt = now;
    switchTo = decision.to;
  }
  const event = decisionEvent(svc, current, decision, { tally, holdDownMs: policy.holdDownMs });
  const events: NewEvent[] = event ? [{ ...base, ...event }] : [];
  if (state.bothDown && !next.bothDown) {
    events.push({
      ...base,
      type: "both-down.cleared",
      message: `"${svc.name}" is no longer down on both paths: ${tally}`,
    });
  }
  if (state.activeDown && !next.activeDown) {
    events.push({
      ...base,
      type: "active.down.cleared",
      message: `"${svc.name}" is no longer on a DOWN live path with nowhere known to be up: ${tally}`,
    });
  }
  return { next, events, switchTo };
}

/** The event a decision records: every switch, and the first round of each held, suppressed or down episode. */
function decisionEvent(
  svc: ServiceConfig,
  state: ServiceState,
  decision: Decision,
  context: { tally: string; holdDownMs: number },
): Omit<NewEvent, "at" | "service" | "votes"> | null {
  const { tally } = context;
  const hold = formatDuration(context.holdDownMs);
  switch (decision.kind) {
    case "switch": {
      const { type, from, to } = decision;
      const verb = type === "failover" ? "Failing over" : "Failing back";
      const why =
        decision.reason === "primary-stable"
          ? ` (the primary has been UP since ${iso(state.primaryUpSince ?? 0)}, holdDown ${hold})`
          : type === "failback"
            ? " at once (the live secondary is DOWN and the primary UP)"
            : "";
      return { type, from, to, message: `${verb} "${svc.name}" from ${from} to ${to}${why}: ${tally}` };
    }
    case "held":
      if (state.held) return null;
      return {
        type: "flap.held",
        from: state.active,
        to: decision.to,
        message: `Holding the fail-back of "${svc.name}" to ${decision.to} until ${iso(decision.until)}: the primary must stay UP for holdDown (${hold}) first, and the wait starts over if it leaves UP: ${tally}`,
      };
    case "suppressed":
      if (state.held) return null;
      return {
        type: "switch.suppressed",
        from: state.active,
        to: decision.to,
        message: `Not doing the ${decision.type} of "${svc.name}" to ${decision.to}: the service is ${decision.mode} (resume to let healthmesh decide): ${tally}`,
      };
    case "both-down":
      if (state.bothDown) return null;
      return {
        type: "both-down",
        message: `Both paths of "${svc.name}" are down; staying on ${state.active}: ${tally}`,
      };
    case "active-down":
      if (state.activeDown) return null;
      return {
        type: "active.down",
        from: decision.active,
        message: `The live path of "${svc.name}" (${decision.active}) is DOWN and the other path is neither UP nor DOWN: staying on ${decision.active}, no switch: ${tally}`,
      };
    default:
      return null;
  }
}

/** Probes that fell silent since the last check (never reported counts from `startedAt`), with their events. */
export function newlySilent(
  members: readonly ProbeMember[],
  known: (id: string) => ProbeRow | undefined,
  options: { now: number; intervalMs: number; startedAt: number },
): { probes: ProbeRow[]; events: NewEvent[] } {
  const probes: ProbeRow[] = [];
  const events: NewEvent[] = [];
  for (const member of members) {
    const row = known(member.id) ?? { id: member.id, lastSeen: null, healthy: true, silent: false };
    const seen = { lastSeen: row.lastSeen ?? options.startedAt, healthy: row.healthy };
    if (row.silent || !isSilent(seen, options)) continue;
    probes.push({ ...row, silent: true });
    events.push({
      at: options.now,
      type: "probe.silent",
      message: `Probe "${member.id}" (${member.provider}) sent nothing for ${STALE_INTERVALS} intervals: it abstains`,
    });
  }
  return { probes, events };
}

/** Whether a round changed anything worth storing about a service. */
export function sameState(a: ServiceState, b: ServiceState): boolean {
  return (
    a.active === b.active &&
    a.mode === b.mode &&
    a.lastSwitchAt === b.lastSwitchAt &&
    a.primaryUpSince === b.primaryUpSince &&
    a.held === b.held &&
    a.bothDown === b.bothDown &&
    a.activeDown === b.activeDown
  );
}
