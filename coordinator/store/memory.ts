/** An in-memory `Store`: the same semantics as SQLite, nothing survives the process. */
import type { ServiceState } from "../engine.ts";
import { type EventPruning, prunablePrefix } from "./prune.ts";
import {
  type AuditEvent,
  type Commit,
  type CommitOutcome,
  type DesiredRouter,
  type NewEvent,
  type ProbeRow,
  type ProviderRouterRow,
  ReplayError,
  type Snapshot,
  type Store,
  type TrackRow,
} from "./store.ts";

/** Turns a new event into a stored one with id and ISO time. */
export function numberEvent(event: NewEvent, id: number): AuditEvent {
  return { ...event, id, at: new Date(event.at).toISOString() };
}

/** A `ReplayError` as a value; any other error thrown on. */
export function replayOnly(error: unknown): ReplayError {
  if (error instanceof ReplayError) return error;
  throw error;
}

/** A `Store` held in process memory. */
export class MemoryStore implements Store {
  #services = new Map<string, ServiceState>();
  #tracks = new Map<string, TrackRow>();
  #probes = new Map<string, ProbeRow>();
  #desired = new Map<string, DesiredRouter>();
  #providerStates = new Map<string, ProviderRouterRow>();
  #events: AuditEvent[] = [];
  #reports = new Map<string, number>();
  /** The id of the newest event ever stored (ids are never reused, pruned or not). */
  #lastEventId = 0;

  async commit(change: Commit): Promise<AuditEvent[]> {
    if (change.report) {
      const key = `${change.report.probe}\u0000${change.report.id}`;
      if (this.#reports.has(key)) throw new ReplayError(change.report.probe, change.report.id);
      this.#reports.set(key, change.report.at);
    }
    for (const s of change.services ?? []) this.#services.set(s.name, structuredClone(s));
    for (const t of change.tracks ?? [])
      this.#tracks.set(`${t.probe}|${t.service}|${t.endpoint}`, structuredClone(t));
    for (const p of change.probes ?? []) this.#probes.set(p.id, { ...p });
    for (const d of change.desired ?? []) this.#desired.set(d.service, { ...d });
    for (const r of change.providerStates ?? [])
      this.#providerStates.set(`${r.provider}|${r.router}`, { ...r });
    const stored = (change.events ?? []).map((e) => numberEvent(e, ++this.#lastEventId));
    for (const e of stored) this.#events.push(e);
    return structuredClone(stored);
  }

  // Each change checks its replay before it writes anything, so a refused one leaves nothing behind.
  async commitMany(changes: readonly Commit[]): Promise<CommitOutcome[]> {
    const outcomes: CommitOutcome[] = [];
    for (const change of changes) outcomes.push(await this.commit(change).catch(replayOnly));
    return outcomes;
  }

  async snapshot(): Promise<Snapshot> {
    return structuredClone({
      services: [...this.#services.values()],
      tracks: [...this.#tracks.values()],
      probes: [...this.#probes.values()],
      desired: [...this.#desired.values()],
      providerStates: [...this.#providerStates.values()],
    });
  }

  async listEvents(options: { sinceMs?: number; afterId?: number; limit?: number }): Promise<AuditEvent[]> {
    const since = options.sinceMs ?? Number.NEGATIVE_INFINITY;
    const after = options.afterId ?? 0;
    return structuredClone(
      this.#events.filter((e) => Date.parse(e.at) >= since && e.id > after).slice(0, options.limit ?? 1000),
    );
  }

  async hasReport(probe: string, id: string): Promise<boolean> {
    return this.#reports.has(`${probe}\u0000${id}`);
  }

  async pruneReports(beforeMs: number, limit = Number.POSITIVE_INFINITY): Promise<number> {
    let gone = 0;
    for (const [key, at] of this.#reports) {
      if (gone >= limit) break;
      if (at < beforeMs && this.#reports.delete(key)) gone++;
    }
    return gone;
  }

  async pruneEvents(rule: EventPruning): Promise<number> {
    const head = this.#events.slice(0, rule.limit).map((e) => ({ id: e.id, at: Date.parse(e.at) }));
    const last = prunablePrefix(head, rule);
    if (last === null) return 0;
    return this.#events.splice(0, head.findIndex((e) => e.id === last) + 1).length;
  }

  async close(): Promise<void> {}
}
