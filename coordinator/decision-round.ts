/**
 * One decision round: plans the services the round covers from the vote book and the service book,
 * and notices probes that fell silent. Stores nothing: the coordinator stores the plan, then applies it.
 */
import type { Config } from "../shared/config-schema.ts";
import type { ServiceState } from "./engine.ts";
import { newlySilent, planService, sameState } from "./round.ts";
import type { ServiceBook } from "./service-book.ts";
import type { Commit, DesiredRouter, NewEvent, ProbeRow } from "./store/store.ts";
import type { VoteBook } from "./votes.ts";

/** What a round changes: the commit to store, and the services it decided for. */
export interface RoundPlan {
  services: ServiceState[];
  desired: DesiredRouter[];
  events: NewEvent[];
  probes: ProbeRow[];
  /** The services the round decided for (settled once the plan is stored, changed or not). */
  decided: string[];
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
 * probes' silence (the periodic tick). Decides only where it can matter: services whose counted votes
 * moved (the vote book's dirty set) and those the service book must look at (state set from outside,
 * a fail-back whose time may come). For any other service a round would change nothing, so the result
 * is the round over every service in scope (`test/decisions/incremental.property.test.ts` checks it).
 */
export function planRound(inputs: RoundInputs, now: number, only: ReadonlySet<string> | null): RoundPlan {
  const { config, votes, services: book } = inputs;
  const silence = only
    ? { probes: [], events: [] }
    : newlySilent(config.probes.members, (id) => votes.probe(id), {
        now,
        intervalMs: config.probes.interval,
        startedAt: inputs.startedAt,
      });
  const plan: RoundPlan = {
    services: [],
    desired: [],
    events: [...silence.events],
    probes: silence.probes,
    decided: [],
  };
  if (!inputs.deciding) return plan;
  votes.advance(now);
  const due = new Set([...votes.dirty(), ...book.mustDecide()]);
  const names = [...due].filter((name) => !only || only.has(name));
  // In config order, as a round over every service would record its events.
  const order = (name: string) => votes.serviceOrder(name);
  names.sort((a, b) => order(a) - order(b));
  for (const name of names) {
    const svc = book.config(name);
    const state = book.state(name);
    const next = planService(svc, state, votes.tallies(svc, now), now);
    plan.events.push(...next.events);
    if (next.switchTo) plan.desired.push(book.desiredRow(svc, now, next.switchTo));
    if (!sameState(next.next, state)) plan.services.push(next.next);
    plan.decided.push(name);
  }
  return plan;
}

/** Whether a plan changes nothing that must be stored. */
export function emptyPlan(plan: RoundPlan): boolean {
  return plan.events.length === 0 && plan.services.length === 0 && plan.probes.length === 0;
}

/** The store's view of a round plan. */
export function roundCommit(plan: RoundPlan): Commit {
  return { services: plan.services, desired: plan.desired, events: plan.events, probes: plan.probes };
}
