/**
 * One decision round: plans every service the round covers from the vote book and the service book,
 * and notices probes that fell silent. Pure: the coordinator stores the plan, then applies it.
 */
import type { Config } from "../shared/config-schema.ts";
import type { ServiceState } from "./engine.ts";
import { newlySilent, planService, sameState } from "./round.ts";
import type { ServiceBook } from "./service-book.ts";
import type { Commit, DesiredRouter, NewEvent, ProbeRow } from "./store/store.ts";
import type { VoteBook } from "./votes.ts";

/** What a round changes: the commit to store, nothing when it is empty. */
export interface RoundPlan {
  services: ServiceState[];
  desired: DesiredRouter[];
  events: NewEvent[];
  probes: ProbeRow[];
}

/** What a round reads. */
export interface RoundInputs {
  config: Config;
  votes: VoteBook;
  services: ServiceBook;
  startedAt: number;
  /** HA mode: whether this coordinator decides (it leads); the others keep their tallies warm. */
  deciding: boolean;
}

/**
 * Plans a round at `now` over the services in `only` (after a report), or over every service and the
 * probes' silence (the periodic tick); null when nothing would change.
 */
export function planRound(
  inputs: RoundInputs,
  now: number,
  only: ReadonlySet<string> | null,
): RoundPlan | null {
  const { config, votes, services: book } = inputs;
  const silence = only
    ? { probes: [], events: [] }
    : newlySilent(config.probes.members, (id) => votes.probe(id), {
        now,
        intervalMs: config.probes.interval,
        startedAt: inputs.startedAt,
      });
  const plan: RoundPlan = { services: [], desired: [], events: [...silence.events], probes: silence.probes };
  for (const svc of inputs.deciding ? config.services : []) {
    if (only && !only.has(svc.name)) continue;
    const state = book.state(svc.name);
    const next = planService(svc, state, votes.verdicts(svc, now), now);
    plan.events.push(...next.events);
    if (next.switchTo) plan.desired.push(book.desiredRow(svc, now, next.switchTo));
    if (!sameState(next.next, state)) plan.services.push(next.next);
  }
  const empty = plan.events.length === 0 && plan.services.length === 0 && plan.probes.length === 0;
  return empty ? null : plan;
}

/** The store's view of a round plan. */
export function roundCommit(plan: RoundPlan): Commit {
  return { services: plan.services, desired: plan.desired, events: plan.events, probes: plan.probes };
}
