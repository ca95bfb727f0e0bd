/**
 * Operator verbs: pin a service to a path, pause it, resume it. Each plans the state and the audit
 * event it leads to; the coordinator stores the plan, then applies it.
 */
import type { Endpoint } from "../shared/protocol.ts";
import type { ServiceState } from "./engine.ts";
import type { ServiceBook } from "./service-book.ts";
import type { Commit } from "./store/store.ts";
import type { VoteBook } from "./votes.ts";

/** Who acts, and why. */
export interface Actor {
  actor: string;
  reason?: string;
}

/** A verb's effect: the next state and what to store. */
export interface VerbPlan {
  next: ServiceState;
  commit: Commit;
}

const why = (options: Actor) => (options.reason ? `: ${options.reason}` : "");

/** Pins a service to a path (a manual switch when it is not the live one). */
export function planPin(
  books: { services: ServiceBook; votes: VoteBook },
  name: string,
  to: Endpoint,
  options: Actor,
  now: number,
): VerbPlan {
  const state = books.services.state(name);
  const svc = books.services.config(name);
  const switched = state.active !== to;
  const next: ServiceState = {
    ...state,
    active: to,
    mode: "pinned",
    held: false,
    lastSwitchAt: switched ? now : state.lastSwitchAt,
  };
  const event = {
    at: now,
    type: "pin",
    service: name,
    from: state.active,
    to,
    actor: options.actor,
    votes: books.votes.verdicts(svc, now).votes,
    message: `${options.actor} pinned "${name}" to ${to}${switched ? ` (switched from ${state.active})` : ""}${why(options)}`,
  };
  return {
    next,
    commit: { services: [next], desired: [books.services.desiredRow(svc, now, to)], events: [event] },
  };
}

/** Pauses a service or returns it to automatic decisions. */
export function planMode(
  services: ServiceBook,
  name: string,
  type: "pause" | "resume",
  options: Actor,
  now: number,
): VerbPlan {
  const state = services.state(name);
  const next: ServiceState = { ...state, mode: type === "pause" ? "paused" : "auto", held: false };
  const verb = type === "pause" ? "paused" : "resumed";
  const event = {
    at: now,
    type,
    service: name,
    actor: options.actor,
    message: `${options.actor} ${verb} "${name}" (was ${state.mode}, ${state.active} live)${why(options)}`,
  };
  return { next, commit: { services: [next], events: [event] } };
}
