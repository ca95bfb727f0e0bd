/** The alert outbox's row shape in SQL (both SQLite outboxes) and its mapping to an `OutboxEntry`. */
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
