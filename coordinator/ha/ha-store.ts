/**
 * The coordinator's store in HA mode: service state goes to the etcd ledger (shared, fenced),
 * everything else — votes, replay ids, audit log, provider rows — to this member's own store.
 */

import type { Endpoint } from "../../shared/protocol.ts";
import type { ServiceState } from "../engine.ts";
import { HttpError } from "../http-error.ts";
import { sameState } from "../round.ts";
import { replayOnly } from "../store/memory.ts";
import type { EventPruning } from "../store/prune.ts";
import {
  type AuditEvent,
  type Commit,
  type CommitOutcome,
  type Snapshot,
  StaleStateError,
  type Store,
} from "../store/store.ts";
import { EtcdError } from "./etcd.ts";
import type { Fence } from "./leadership.ts";
import { type EtcdLedger, LedgerConflictError, type LedgerWrite } from "./ledger.ts";

/** Operator verbs: any member may record them (guarded by the key's revision alone). */
const OPERATOR_EVENTS = new Set(["pin", "pause", "resume"]);

/** What the HA store is built from. */
export interface HaStoreOptions {
  local: Store;
  ledger: EtcdLedger;
  /** This member's fence while it leads. */
  fence: () => Fence | null;
  /** The router target of a service's path (from the config). */
  targetOf: (service: string, active: Endpoint) => string | undefined;
  now: () => number;
}

/** A `Store` that splits each commit between the etcd ledger and the member's own store. */
export class HaStore implements Store {
  readonly #o: HaStoreOptions;

  constructor(options: HaStoreOptions) {
    this.#o = options;
  }

  /** Writes the ledger part first (refused with `StaleStateError`), then the rest locally. */
  async commit(change: Commit): Promise<AuditEvent[]> {
    const writes = this.#ledgerWrites(change);
    if (writes.length === 0) return this.#o.local.commit(change);
    const decision = await this.#writeLedger(change, writes);
    if (decision === null) return this.#o.local.commit(change);
    // Each event about a service this write changed carries the decision number (stable alert ids).
    const decided = new Set(writes.map((w) => w.state.name));
    const events = change.events?.map((e) => (e.service && decided.has(e.service) ? { ...e, decision } : e));
    return this.#o.local.commit(events ? { ...change, events } : change);
  }

  /** Changes that touch no ledger state (accepted reports) share one local transaction; the others go one by one. */
  async commitMany(changes: readonly Commit[]): Promise<CommitOutcome[]> {
    if (changes.every((change) => this.#ledgerWrites(change).length === 0))
      return this.#o.local.commitMany(changes);
    const outcomes: CommitOutcome[] = [];
    for (const change of changes) outcomes.push(await this.commit(change).catch(replayOnly));
    return outcomes;
  }

  async gather(): Promise<void> {
    await this.#o.local.gather?.();
  }

  /** The local snapshot with service state and desired targets taken from the ledger. */
  async snapshot(): Promise<Snapshot> {
    const local = await this.#o.local.snapshot();
    const entries = await this.#o.ledger.load();
    this.#o.ledger.adopted(entries.values()); // the coordinator opens with exactly these states
    if (entries.size === 0) return local;
    const shared = [...entries.values()];
    const names = new Set(shared.map((e) => e.state.name));
    const services = [...local.services.filter((s) => !names.has(s.name)), ...shared.map((e) => e.state)];
    const desired = local.desired.map((row) => {
      const entry = entries.get(row.service);
      return entry ? { ...row, target: entry.target, decidedAt: entry.decidedAt } : row;
    });
    return { ...local, services, desired };
  }

  listEvents(options: { sinceMs?: number; afterId?: number; limit?: number }): Promise<AuditEvent[]> {
    return this.#o.local.listEvents(options);
  }

  async hasReport(probe: string, id: string): Promise<boolean> {
    return (await this.#o.local.hasReport?.(probe, id)) ?? false;
  }

  pruneReports(beforeMs: number, limit?: number): Promise<number> {
    return this.#o.local.pruneReports(beforeMs, limit);
  }

  /** The audit log is each member's own: pruning it touches nothing in the ledger. */
  pruneEvents(rule: EventPruning): Promise<number> {
    return this.#o.local.pruneEvents(rule);
  }

  close(): Promise<void> {
    return this.#o.local.close();
  }

  /** Writes the ledger part; the decision number it got, or null when another member's equal first entry stands. */
  async #writeLedger(change: Commit, writes: LedgerWrite[]): Promise<number | null> {
    const known = this.#o.ledger.entries();
    const fresh = writes.every((w) => !known.has(w.state.name));
    const operator = (change.events ?? []).some((e) => OPERATOR_EVENTS.has(e.type));
    const fence = this.#o.fence();
    if (!operator && !fresh && !fence) {
      throw new StaleStateError("Cannot record a decision: this coordinator does not lead the cluster");
    }
    let attempt = writes;
    for (let tries = 1; ; tries++) {
      try {
        const basis = tries > 1 ? ("latest" as const) : ("own" as const);
        return await this.#o.ledger.write(attempt, operator || !fence ? { basis } : { fence, basis });
      } catch (error) {
        if (error instanceof EtcdError) throw unreachable(error, operator);
        if (!(error instanceof LedgerConflictError)) throw error;
        // A first entry another member wrote at the same moment is as good as ours.
        if (fresh && !operator && error.reason === "stale") return null;
        // An operator's verb does not depend on the leader's episode flags: apply it to what is there now.
        if (!operator || tries >= 3) throw new StaleStateError(error.message);
        attempt = this.#rebase(
          attempt,
          (change.events ?? []).some((e) => e.type === "pin"),
        );
      }
    }
  }

  // The operator's fields over the entry the ledger holds now: mode and held, and for a pin the path too.
  #rebase(writes: LedgerWrite[], pin: boolean): LedgerWrite[] {
    const known = this.#o.ledger.entries();
    return writes.map((w) => {
      const now = known.get(w.state.name);
      if (!now) return w;
      const { active, mode, lastSwitchAt, held } = w.state;
      if (pin) return { ...w, state: { ...now.state, active, mode, lastSwitchAt, held } };
      return { ...w, target: now.target, decidedAt: now.decidedAt, state: { ...now.state, mode, held } };
    });
  }

  // Service rows that differ from the ledger, each with the target its live path points at.
  #ledgerWrites(change: Commit): LedgerWrite[] {
    const known = this.#o.ledger.entries();
    const writes: LedgerWrite[] = [];
    for (const state of change.services ?? []) {
      const entry = known.get(state.name);
      const desired = change.desired?.find((d) => d.service === state.name);
      const target = desired?.target ?? this.#o.targetOf(state.name, state.active) ?? entry?.target ?? "";
      if (entry && sameState(entry.state, state) && entry.target === target) continue;
      writes.push({
        state: copy(state),
        target,
        decidedAt: desired?.decidedAt ?? entry?.decidedAt ?? this.#o.now(),
      });
    }
    return writes;
  }
}

function copy(state: ServiceState): ServiceState {
  return { ...state };
}

// No quorum: a decision is dropped like a stale one (the round must not fail the report that
// triggered it); an operator is told to retry.
function unreachable(error: EtcdError, operator: boolean): Error {
  const message = `Cannot record the change in etcd: ${error.message}`;
  return operator ? new HttpError(503, "unavailable", message) : new StaleStateError(message);
}
