/** The alert outbox's row shapes in SQL (both SQLite outboxes) and their mapping to entries and episodes. */
import type { EpisodeChange } from "./episodes.ts";
import type { AlertMessage } from "./message.ts";
import type { OutboxEntry } from "./outbox.ts";

/** One `alert_outbox` row as SQLite returns it. */
// A type alias, not an interface: the Durable Object SQL API wants a Record-compatible row type.
export type OutboxRow = {
  id: number;
  delivery_id: string;
  destination: string;
  key: string;
  message: string;
  event_ids: string;
  created_at: number;
  next_at: number;
  attempts: number;
  state: OutboxEntry["state"];
  last_error: string | null;
};

/** The entry a row holds. */
export function outboxEntryOf(row: OutboxRow): OutboxEntry {
  // Rows are written only by the outboxes, so the JSON columns hold the shapes they wrote.
  return {
    id: row.id,
    deliveryId: row.delivery_id,
    destination: row.destination,
    key: row.key,
    message: JSON.parse(row.message) as AlertMessage,
    eventIds: JSON.parse(row.event_ids) as number[],
    createdAt: row.created_at,
    nextAt: row.next_at,
    attempts: row.attempts,
    state: row.state,
    ...(row.last_error !== null ? { lastError: row.last_error } : {}),
  };
}

/**
 * The open pager episodes (each its opening change as JSON) and the audit event id they are folded
 * up to. Separate from the store's tables and from `alert_outbox`: outbox rows are pruned after
 * `coordinator.retention.alerts`, an episode stays open as long as it lasts.
 */
export const EPISODE_SCHEMA = `
CREATE TABLE IF NOT EXISTS alert_episodes (id TEXT PRIMARY KEY, opening TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alert_episode_cursor (one INTEGER PRIMARY KEY CHECK (one = 1), event_id INTEGER NOT NULL);
`;

/** The SQL that applies one episode change: its statement and bindings. */
export function episodeStatement(change: EpisodeChange): [string, string[]] {
  if (change.action === "close") return ["DELETE FROM alert_episodes WHERE id = ?", [change.id]];
  return [
    "INSERT INTO alert_episodes (id, opening) VALUES (?, ?) ON CONFLICT DO NOTHING",
    [change.id, JSON.stringify(change)],
  ];
}

/** Moves the episode cursor forward (never back). */
export const EPISODE_CURSOR = `INSERT INTO alert_episode_cursor (one, event_id) VALUES (1, ?)
  ON CONFLICT (one) DO UPDATE SET event_id = max(event_id, excluded.event_id)`;

/** The opening change a row holds (written only by `episodeStatement`). */
export function openingOf(row: { opening: string }): EpisodeChange {
  return JSON.parse(row.opening) as EpisodeChange; // written as a serialized EpisodeChange
}
