/**
 * The alert outbox port: grouped messages waiting for delivery, and per destination a cursor over
 * the audit log's event ids. Implementations: `MemoryOutbox` (tests) and `SqliteOutbox` (Node, beside
 * the store's tables), so an alert queued before a crash is delivered after the restart.
 */
import type { Severity } from "../../shared/alert-config.ts";
import type { EpisodeChange } from "./episodes.ts";
import type { AlertMessage } from "./message.ts";

/** One message for one destination, with its delivery state. */
export interface OutboxEntry {
  id: number;
  /** Stable across retries and restarts: the idempotency key (Matrix txnId, `webhook-id`). */
  deliveryId: string;
  destination: string;
  key: string;
  message: AlertMessage;
  eventIds: number[];
  createdAt: number;
  nextAt: number;
  attempts: number;
  state: "pending" | "sent" | "failed";
  lastError?: string;
}

/** When a group's latest message was queued, and its severity. */
export interface LastMessage {
  at: number;
  severity: Severity;
  /** The event types the message reported. */
  types: string[];
}

/** What a stored message says about itself for `repeatInterval`. */
export function lastMessageOf(message: AlertMessage, at: number): LastMessage {
  return { at, severity: message.severity, types: [...new Set(message.lines.map((l) => l.type))] };
}

/** An entry before the outbox numbers it. */
export type NewOutboxEntry = Omit<OutboxEntry, "id" | "attempts" | "state" | "lastError">;

/** The open pager episodes (their opening changes) and the event id up to which they are folded. */
export interface EpisodeLedger {
  cursor: number | null;
  open: EpisodeChange[];
}

/** Persistence of the dispatcher. */
export interface Outbox {
  /** The open episodes as last saved (kept beside the outbox so a restart knows what is still open). */
  episodes(): Promise<EpisodeLedger>;
  /**
   * Applies episode changes in order (an opening of an open episode keeps the first one) and moves the
   * episode cursor to `cursor`, atomically.
   */
  saveEpisodes(changes: readonly EpisodeChange[], cursor: number): Promise<void>;
  /** Every destination's cursor: the event id up to which events are either in an entry or needed none. */
  cursors(): Promise<Map<string, number>>;
  /** Sets a destination's cursor unless it has one (a destination added to the config starts from now). */
  initCursor(destination: string, eventId: number): Promise<void>;
  /** Moves a destination's cursor forward (never back), e.g. past events that needed no message. */
  advanceCursor(destination: string, eventId: number): Promise<void>;
  /** Stores an entry and moves the destination's cursor to `cursor`, atomically. */
  add(entry: NewOutboxEntry, cursor: number): Promise<OutboxEntry>;
  /** Pending entries of a destination, oldest first. */
  pending(destination: string): Promise<OutboxEntry[]>;
  /** Ids of events above `afterId` already in an entry of this destination (to skip them on replay). */
  takenEventIds(destination: string, afterId: number): Promise<Set<number>>;
  /** Each group's latest entry of a destination: when and how severe (for `repeatInterval` across restarts). */
  lastCreated(destination: string): Promise<Map<string, LastMessage>>;
  markSent(id: number, attempts: number): Promise<void>;
  reschedule(id: number, options: { nextAt: number; attempts: number; error: string }): Promise<void>;
  markFailed(id: number, options: { attempts: number; error: string }): Promise<void>;
  /** Entries (every state), oldest first, for status and tests. */
  list(destination?: string): Promise<OutboxEntry[]>;
  /**
   * Forgets up to `limit` (default all) sent and failed entries created before `beforeMs`, oldest
   * first; returns how many. Kept anyway: each group's newest entry (`lastCreated` reads it) and
   * entries holding events past their destination's cursor (`takenEventIds` reads them).
   */
  prune(beforeMs: number, limit?: number): Promise<number>;
}

/** An outbox held in memory: the dispatcher's semantics without durability. */
export class MemoryOutbox implements Outbox {
  readonly #cursors = new Map<string, number>();
  readonly #entries: OutboxEntry[] = [];
  readonly #episodes = new Map<string, EpisodeChange>();
  #episodeCursor: number | null = null;
  #seq = 0;

  async episodes(): Promise<EpisodeLedger> {
    return { cursor: this.#episodeCursor, open: [...this.#episodes.values()] };
  }

  async saveEpisodes(changes: readonly EpisodeChange[], cursor: number): Promise<void> {
    for (const change of changes) {
      if (change.action === "close") this.#episodes.delete(change.id);
      else if (!this.#episodes.has(change.id)) this.#episodes.set(change.id, change);
    }
    this.#episodeCursor = Math.max(this.#episodeCursor ?? 0, cursor);
  }

  async cursors(): Promise<Map<string, number>> {
    return new Map(this.#cursors);
  }

  async initCursor(destination: string, eventId: number): Promise<void> {
    if (!this.#cursors.has(destination)) this.#cursors.set(destination, eventId);
  }

  async advanceCursor(destination: string, eventId: number): Promise<void> {
    this.#cursors.set(destination, Math.max(this.#cursors.get(destination) ?? 0, eventId));
  }

  async add(entry: NewOutboxEntry, cursor: number): Promise<OutboxEntry> {
    const stored: OutboxEntry = { ...entry, id: ++this.#seq, attempts: 0, state: "pending" };
    this.#entries.push(stored);
    this.#cursors.set(entry.destination, Math.max(this.#cursors.get(entry.destination) ?? 0, cursor));
    return { ...stored };
  }

  async pending(destination: string): Promise<OutboxEntry[]> {
    return this.#entries
      .filter((e) => e.destination === destination && e.state === "pending")
      .map((e) => ({ ...e }));
  }

  async takenEventIds(destination: string, afterId: number): Promise<Set<number>> {
    const ids = this.#entries.filter((e) => e.destination === destination).flatMap((e) => e.eventIds);
    return new Set(ids.filter((id) => id > afterId));
  }

  async lastCreated(destination: string): Promise<Map<string, LastMessage>> {
    const out = new Map<string, LastMessage>();
    for (const e of this.#entries)
      if (e.destination === destination) out.set(e.key, lastMessageOf(e.message, e.createdAt));
    return out;
  }

  async markSent(id: number, attempts: number): Promise<void> {
    this.#update(id, { state: "sent", attempts });
  }

  async reschedule(id: number, options: { nextAt: number; attempts: number; error: string }): Promise<void> {
    this.#update(id, { nextAt: options.nextAt, attempts: options.attempts, lastError: options.error });
  }

  async markFailed(id: number, options: { attempts: number; error: string }): Promise<void> {
    this.#update(id, { state: "failed", attempts: options.attempts, lastError: options.error });
  }

  async list(destination?: string): Promise<OutboxEntry[]> {
    return this.#entries.filter((e) => !destination || e.destination === destination).map((e) => ({ ...e }));
  }

  async prune(beforeMs: number, limit = Number.POSITIVE_INFINITY): Promise<number> {
    const newest = new Map<string, number>();
    for (const e of this.#entries) newest.set(`${e.destination}\u0000${e.key}`, e.id);
    const gone = this.#entries
      .filter(
        (e) =>
          e.state !== "pending" &&
          e.createdAt < beforeMs &&
          Math.max(0, ...e.eventIds) <= (this.#cursors.get(e.destination) ?? 0) &&
          newest.get(`${e.destination}\u0000${e.key}`) !== e.id,
      )
      .slice(0, limit);
    for (const e of gone) this.#entries.splice(this.#entries.indexOf(e), 1);
    return gone.length;
  }

  #update(id: number, patch: Partial<OutboxEntry>): void {
    const entry = this.#entries.find((e) => e.id === id);
    if (entry) Object.assign(entry, patch);
  }
}
