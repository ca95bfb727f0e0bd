/** What the stores share for retention: which leading events may go, and the SQL of one batch. */

/** Which of the oldest events one pruning batch may forget. */
export interface EventPruning {
  /** Events stored at or after this time (ms) are kept. */
  beforeMs: number;
  /** Events above this id are kept (a reader such as alerting has not taken them yet). */
  throughId: number;
  /** Most events forgotten by one call. */
  limit: number;
}

/**
 * The id of the last event of the leading run (oldest first) that `rule` lets go, or null. Only a
 * prefix is ever forgotten, so the ids that remain stay consecutive: an event stamped earlier than
 * one before it (the clock stepped back) waits for its elders.
 */
export function prunablePrefix(
  rows: readonly { id: number; at: number }[],
  rule: Pick<EventPruning, "beforeMs" | "throughId">,
): number | null {
  let last: number | null = null;
  for (const row of rows) {
    if (row.at >= rule.beforeMs || row.id > rule.throughId) break;
    last = row.id;
  }
  return last;
}

/** The oldest events in id order, only the columns `prunablePrefix` reads (bind: limit). */
export const OLDEST_EVENTS = "SELECT id, at FROM events ORDER BY id LIMIT ?";

/** Forgets the events up to an id (bind: id); a range of the rowid, so it touches only those rows. */
export const DELETE_EVENTS_THROUGH = "DELETE FROM events WHERE id <= ?";

/** Forgets a batch of report ids accepted before a time, oldest first (bind: beforeMs, limit). */
export const DELETE_OLD_REPORTS = `DELETE FROM reports WHERE rowid IN
  (SELECT rowid FROM reports WHERE at < ? ORDER BY at LIMIT ?)`;

/**
 * Forgets a batch of settled (sent or dropped) alert messages created before a time (bind: beforeMs,
 * limit). Kept anyway: each group's newest message (`lastCreated` spaces repeats by it across a
 * restart) and messages holding events past their destination's cursor (a restart's replay skips
 * those events by them).
 */
export const DELETE_SETTLED_ALERTS = `DELETE FROM alert_outbox WHERE id IN
  (SELECT o.id FROM alert_outbox o WHERE o.state != 'pending' AND o.created_at < ?
     AND o.max_event_id <= coalesce((SELECT c.event_id FROM alert_cursors c WHERE c.destination = o.destination), 0)
     AND o.id NOT IN (SELECT max(id) FROM alert_outbox GROUP BY destination, key)
   ORDER BY o.id LIMIT ?)`;
