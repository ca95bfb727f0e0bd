/**
 * The alert outbox in the coordinator's SQLite database (Node only): `alert_outbox` holds grouped
 * messages and their delivery state, `alert_cursors` each destination's position in the audit log.
 * Written with the store's pragmas (WAL, synchronous=FULL), so what `add` returned survives a kill -9.
 */
import type Database from "better-sqlite3";
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

/** An `Outbox` in an open better-sqlite3 database (the store's `db`). */
export class SqliteOutbox implements Outbox {
  readonly #db: Database.Database;
  readonly #add: (entry: NewOutboxEntry, cursor: number) => number;
  readonly #advance: Database.Statement<[string, number]>;
  readonly #saveEpisodes: (changes: readonly EpisodeChange[], cursor: number) => void;

  constructor(db: Database.Database) {
    this.#db = db;
    db.exec(OUTBOX_SCHEMA);
    db.exec(EPISODE_SCHEMA);
    this.#saveEpisodes = db.transaction((changes: readonly EpisodeChange[], cursor: number) => {
      for (const change of changes) {
        const [sql, args] = episodeStatement(change);
        db.prepare(sql).run(...args);
      }
      db.prepare(EPISODE_CURSOR).run(cursor);
    });
    const insert = db.prepare(
      `INSERT INTO alert_outbox (delivery_id, destination, key, message, event_ids, max_event_id, created_at, next_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const cursor = db.prepare(
      `INSERT INTO alert_cursors (destination, event_id) VALUES (?, ?)
       ON CONFLICT (destination) DO UPDATE SET event_id = max(event_id, excluded.event_id)`,
    );
    this.#advance = cursor;
    this.#add = db.transaction((entry: NewOutboxEntry, to: number): number => {
      const maxId = Math.max(0, ...entry.eventIds);
      const { lastInsertRowid } = insert.run(
        entry.deliveryId,
        entry.destination,
        entry.key,
        JSON.stringify(entry.message),
        JSON.stringify(entry.eventIds),
        maxId,
        entry.createdAt,
        entry.nextAt,
      );
      cursor.run(entry.destination, to);
      return Number(lastInsertRowid);
    });
  }

  async episodes(): Promise<EpisodeLedger> {
    const rows = this.#db.prepare("SELECT opening FROM alert_episodes ORDER BY rowid").all() as {
      opening: string;
    }[]; // the table's declared column
    const cursor = this.#db.prepare("SELECT event_id FROM alert_episode_cursor").get() as
      | { event_id: number }
      | undefined; // one row at most
    return { cursor: cursor?.event_id ?? null, open: rows.map(openingOf) };
  }

  async saveEpisodes(changes: readonly EpisodeChange[], cursor: number): Promise<void> {
    this.#saveEpisodes(changes, cursor);
  }

  async cursors(): Promise<Map<string, number>> {
    const rows = this.#db.prepare("SELECT destination, event_id FROM alert_cursors").all() as {
      destination: string;
      event_id: number;
    }[]; // the table's declared columns
    return new Map(rows.map((r) => [r.destination, r.event_id]));
  }

  async initCursor(destination: string, eventId: number): Promise<void> {
    this.#db
      .prepare("INSERT INTO alert_cursors (destination, event_id) VALUES (?, ?) ON CONFLICT DO NOTHING")
      .run(destination, eventId);
  }

  async advanceCursor(destination: string, eventId: number): Promise<void> {
    this.#advance.run(destination, eventId);
  }

  async add(entry: NewOutboxEntry, cursor: number): Promise<OutboxEntry> {
    const id = this.#add(entry, cursor);
    return { ...entry, id, attempts: 0, state: "pending" };
  }

  async pending(destination: string): Promise<OutboxEntry[]> {
    const rows = this.#db
      .prepare("SELECT * FROM alert_outbox WHERE destination = ? AND state = 'pending' ORDER BY id")
      .all(destination) as OutboxRow[]; // SELECT * of the table OutboxRow describes
    return rows.map(outboxEntryOf);
  }

  async takenEventIds(destination: string, afterId: number): Promise<Set<number>> {
    const rows = this.#db
      .prepare("SELECT event_ids FROM alert_outbox WHERE destination = ? AND max_event_id > ?")
      .all(destination, afterId) as { event_ids: string }[]; // a declared TEXT column
    const ids = rows.flatMap((r) => JSON.parse(r.event_ids) as number[]); // written by `add` as a number array
    return new Set(ids.filter((id) => id > afterId));
  }

  async lastCreated(destination: string): Promise<Map<string, LastMessage>> {
    const rows = this.#db
      .prepare(
        `SELECT key, created_at, message FROM alert_outbox WHERE id IN
         (SELECT max(id) FROM alert_outbox WHERE destination = ? GROUP BY key)`,
      )
      .all(destination) as { key: string; created_at: number; message: string }[]; // the selected columns
    // `message` is written only by `add`, as a serialized AlertMessage.
    return new Map(
      rows.map((r) => [r.key, lastMessageOf(JSON.parse(r.message) as AlertMessage, r.created_at)]),
    );
  }

  async markSent(id: number, attempts: number): Promise<void> {
    this.#db.prepare("UPDATE alert_outbox SET state = 'sent', attempts = ? WHERE id = ?").run(attempts, id);
  }

  async reschedule(id: number, options: { nextAt: number; attempts: number; error: string }): Promise<void> {
    this.#db
      .prepare("UPDATE alert_outbox SET next_at = ?, attempts = ?, last_error = ? WHERE id = ?")
      .run(options.nextAt, options.attempts, options.error, id);
  }

  async markFailed(id: number, options: { attempts: number; error: string }): Promise<void> {
    this.#db
      .prepare("UPDATE alert_outbox SET state = 'failed', attempts = ?, last_error = ? WHERE id = ?")
      .run(options.attempts, options.error, id);
  }

  async list(destination?: string): Promise<OutboxEntry[]> {
    const rows = (
      destination === undefined
        ? this.#db.prepare("SELECT * FROM alert_outbox ORDER BY id").all()
        : this.#db.prepare("SELECT * FROM alert_outbox WHERE destination = ? ORDER BY id").all(destination)
    ) as OutboxRow[]; // SELECT * of the table OutboxRow describes
    return rows.map(outboxEntryOf);
  }

  async prune(beforeMs: number, limit = -1): Promise<number> {
    return this.#db.prepare(DELETE_SETTLED_ALERTS).run(beforeMs, limit).changes;
  }
}
