/** One decision round for one service, and the silence check for probes: pure, time passed in. */
import type { ProbeMember, ServiceConfig } from "../shared/config-schema.ts";
import { isSilent, STALE_INTERVALS, type Tally } from "../shared/quorum.ts";
import { decide, type RoundVerdicts, type ServiceState } from "./engine.ts";
import type { NewEvent, ProbeRow } from "./store/store.ts";

/** What a round changes for one service: its next state, the events to record, and a switch if any. */
export interface ServicePlan {
  next: ServiceState;
  events: NewEvent[];
  switchTo: ServiceState["active"] | null;
}

const fmt = (t: Tally) => `${t.down} down, ${t.up} up, ${t.abstain} abstain`;

/** Plans one service's round: the decision, the episode flags (held, both-down) and their events. */
export function planService(
  svc: ServiceConfig,
  state: ServiceState,
  verdicts: RoundVerdicts,
  now: number,
): ServicePlan {
  const votes = { primary: verdicts.primary.votes, secondary: verdicts.secondary.votes };
  const decision = decide(state, verdicts, { autoFailback: svc.autoFailback, holdDownMs: svc.holdDown }, now);
  const tally = `primary ${verdicts.primary.verdict} (${fmt(votes.primary)}), secondary ${verdicts.secondary.verdict} (${fmt(votes.secondary)})`;
  const base = { at: now, service: svc.name, votes };
  const events: NewEvent[] = [];
  const next: ServiceState = {
    ...state,
    // One flag for both kinds of "wanted but not done" episodes, so each is reported once.
    held: decision.kind === "held" || decision.kind === "suppressed",
    bothDown: decision.kind === "both-down",
  };
  let switchTo: ServicePlan["switchTo"] = null;
  if (decision.kind === "switch") {
    next.active = decision.to;
    next.lastSwitchAt = now;
    switchTo = decision.to;
    const verb = decision.type === "failover" ? "Failing over" : "Failing back";
    events.push({
      ...base,
      type: decision.type,
      from: decision.from,
      to: decision.to,
      message: `${verb} "${svc.name}" from ${decision.from} to ${decision.to}: ${tally}`,
    });
  } else if (decision.kind === "held" && !state.held) {
    const until = new Date(decision.until).toISOString();
    events.push({
      ...base,
      type: "flap.held",
      from: state.active,
      to: decision.to,
      message: `Holding ${decision.type} of "${svc.name}" to ${decision.to} until ${until} (holdDown): ${tally}`,
    });
  } else if (decision.kind === "suppressed" && !state.held) {
    events.push({
      ...base,
      type: "switch.suppressed",
      from: state.active,
      to: decision.to,
      message: `Not doing the ${decision.type} of "${svc.name}" to ${decision.to}: the service is ${decision.mode} (resume to let healthmesh decide): ${tally}`,
    });
  } else if (decision.kind === "both-down" && !state.bothDown) {
    events.push({
      ...base,
      type: "both-down",
      message: `Both paths of "${svc.name}" are down; staying on ${state.active}: ${tally}`,
    });
  }
  if (state.bothDown && !next.bothDown) {
    events.push({
      ...base,
      type: "both-down.cleared",
      message: `"${svc.name}" is no longer down on both paths: ${tally}`,
    });
  }
  return { next, events, switchTo };
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
    a.held === b.held &&
    a.bothDown === b.bothDown
  );
}
