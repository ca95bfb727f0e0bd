/**
 * The alert outbox in a SQLite-backed Durable Object (the Workers coordinator), beside the store's
 * tables: the same two tables as `SqliteOutbox`, so an alert queued before the object is evicted or
 * restarted is delivered after it wakes.
 */
import type { DurableSqlStorage, SqlValue } from "../store/durable.ts";
import { DELETE_SETTLED_ALERTS } from "../store/prune.ts";
import { OUTBOX_SCHEMA } from "../store/schema.ts";
import type { EpisodeChange } from "./episodes.ts";
import type { AlertMessage } from "./message.ts";
import {
  type EpisodeLedger,
  type LastMessage,
  lastMessageOf,
  type NewOutboxEntry,
  type Outbox,
  type OutboxEntry,
} from "./outbox.ts";
import {
  EPISODE_CURSOR,
  EPISODE_SCHEMA,
  episodeStatement,
  type OutboxRow,
  openingOf,
  outboxEntryOf,
} from "./outbox-rows.ts";

const ADVANCE = `INSERT INTO alert_cursors (destination, event_id) VALUES (?, ?)
  ON CONFLICT (destination) DO UPDATE SET event_id = max(event_id, excluded.event_id)`;

/** An `Outbox` in the SQLite database of the Durable Object that owns `storage`. */
export class DurableOutbox implements Outbox {
  readonly #storage: DurableSqlStorage;

  constructor(storage: DurableSqlStorage) {
    this.#storage = storage;
    storage.sql.exec(OUTBOX_SCHEMA);
    storage.sql.exec(EPISODE_SCHEMA);
  }

  async episodes(): Promise<EpisodeLedger> {
    const rows = this.#rows<{ opening: string }>("SELECT opening FROM alert_episodes ORDER BY rowid");
    const [cursor] = this.#rows<{ event_id: number }>("SELECT event_id FROM alert_episode_cursor");
    return { cursor: cursor?.event_id ?? null, open: rows.map(openingOf) };
  }

  async saveEpisodes(changes: readonly EpisodeChange[], cursor: number): Promise<void> {
    this.#storage.transactionSync(() => {
      for (const change of changes) {
        const [sql, args] = episodeStatement(change);
        this.#rows(sql, ...args);
      }
      this.#rows(EPISODE_CURSOR, cursor);
    });
  }

  #rows<T extends Record<string, SqlValue>>(query: string, ...bindings: SqlValue[]): T[] {
    return this.#storage.sql.exec<T>(query, ...bindings).toArray();
  }

  async cursors(): Promise<Map<string, number>> {
    const rows = this.#rows<{ destination: string; event_id: number }>(
      "SELECT destination, event_id FROM alert_cursors",
    );
    return new Map(rows.map((r) => [r.destination, r.event_id]));
  }

  async initCursor(destination: string, eventId: number): Promise<void> {
    this.#rows(
      "INSERT INTO alert_cursors (destination, event_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
      destination,
      eventId,
    );
  }

  async advanceCursor(destination: string, eventId: number): Promise<void> {
    this.#rows(ADVANCE, destination, eventId);
  }

  async add(entry: NewOutboxEntry, cursor: number): Promise<OutboxEntry> {
    const id = this.#storage.transactionSync(() => {
      const [row] = this.#rows<{ id: number }>(
        `INSERT INTO alert_outbox (delivery_id, destination, key, message, event_ids, max_event_id, created_at, next_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
        entry.deliveryId,
        entry.destination,
        entry.key,
        JSON.stringify(entry.message),
        JSON.stringify(entry.eventIds),
        Math.max(0, ...entry.eventIds),
        entry.createdAt,
        entry.nextAt,
      );
      if (!row) throw new Error(`Cannot queue an alert for "${entry.destination}": SQLite returned no id`);
      this.#rows(ADVANCE, entry.destination, cursor);
      return row.id;
    });
    return { ...entry, id, attempts: 0, state: "pending" };
  }

  async pending(destination: string): Promise<OutboxEntry[]> {
    return this.#rows<OutboxRow>(
      "SELECT * FROM alert_outbox WHERE destination = ? AND state = 'pending' ORDER BY id",
      destination,
    ).map(outboxEntryOf);
  }

  async takenEventIds(destination: string, afterId: number): Promise<Set<number>> {
    const rows = this.#rows<{ event_ids: string }>(
      "SELECT event_ids FROM alert_outbox WHERE destination = ? AND max_event_id > ?",
      destination,
      afterId,
    );
    const ids = rows.flatMap((r) => JSON.parse(r.event_ids) as number[]); // written by `add` as a number array
    return new Set(ids.filter((id) => id > afterId));
  }

  async lastCreated(destination: string): Promise<Map<string, LastMessage>> {
    const rows = this.#rows<{ key: string; created_at: number; message: string }>(
      `SELECT key, created_at, message FROM alert_outbox WHERE id IN
       (SELECT max(id) FROM alert_outbox WHERE destination = ? GROUP BY key)`,
      destination,
    );
    // `message` is written only by `add`, as a serialized AlertMessage.
    return new Map(
      rows.map((r) => [r.key, lastMessageOf(JSON.parse(r.message) as AlertMessage, r.created_at)]),
    );
  }

  async markSent(id: number, attempts: number): Promise<void> {
    this.#rows("UPDATE alert_outbox SET state = 'sent', attempts = ? WHERE id = ?", attempts, id);
  }

  async reschedule(id: number, options: { nextAt: number; attempts: number; error: string }): Promise<void> {
    this.#rows(
      "UPDATE alert_outbox SET next_at = ?, attempts = ?, last_error = ? WHERE id = ?",
      options.nextAt,
      options.attempts,
      options.error,
      id,
    );
  }

  async markFailed(id: number, options: { attempts: number; error: string }): Promise<void> {
    this.#rows(
      "UPDATE alert_outbox SET state = 'failed', attempts = ?, last_error = ? WHERE id = ?",
      options.attempts,
      options.error,
      id,
    );
  }

  async list(destination?: string): Promise<OutboxEntry[]> {
    const rows =
      destination === undefined
        ? this.#rows<OutboxRow>("SELECT * FROM alert_outbox ORDER BY id")
        : this.#rows<OutboxRow>("SELECT * FROM alert_outbox WHERE destination = ? ORDER BY id", destination);
    return rows.map(outboxEntryOf);
  }

  async prune(beforeMs: number, limit = -1): Promise<number> {
    return this.#rows(`${DELETE_SETTLED_ALERTS} RETURNING 1 AS gone`, beforeMs, limit).length;
  }
}
