/** The SQL schemas shared by the SQLite stores (Node's better-sqlite3 and the Durable Object's storage). */

/** The coordinator's tables: services, votes, probes, desired DNS, provider state, the audit log, replay ids. */
export const STORE_SCHEMA = `
CREATE TABLE IF NOT EXISTS services (name TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tracks (probe TEXT NOT NULL, service TEXT NOT NULL, endpoint TEXT NOT NULL, track TEXT NOT NULL,
  PRIMARY KEY (probe, service, endpoint));
CREATE TABLE IF NOT EXISTS probes (id TEXT PRIMARY KEY, last_seen INTEGER, healthy INTEGER NOT NULL, silent INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS desired (service TEXT PRIMARY KEY, router TEXT NOT NULL, target TEXT NOT NULL, decided_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS provider_states (provider TEXT NOT NULL, router TEXT NOT NULL, state TEXT NOT NULL, target TEXT,
  error TEXT, updated_at INTEGER NOT NULL, PRIMARY KEY (provider, router));
CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_at ON events (at);
CREATE TABLE IF NOT EXISTS reports (probe TEXT NOT NULL, id TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (probe, id));
CREATE INDEX IF NOT EXISTS reports_at ON reports (at);
`;

/**
 * Brings rows written by an older healthmesh up to today's shapes; idempotent, run at every open after
 * `STORE_SCHEMA`. Service states gained `primaryUpSince` (null: the primary must prove itself UP for
 * `holdDown` again before an automatic fail-back) and the `activeDown` episode flag; tracks gained
 * `seenAt` (taken from the probe's last report, the best time known for its latest result).
 */
export const STORE_MIGRATIONS = `
UPDATE services SET state = json_set(state, '$.primaryUpSince', NULL) WHERE json_type(state, '$.primaryUpSince') IS NULL;
UPDATE services SET state = json_set(state, '$.activeDown', json('false')) WHERE json_type(state, '$.activeDown') IS NULL;
UPDATE tracks SET track = json_set(track, '$.seenAt', (SELECT last_seen FROM probes WHERE probes.id = tracks.probe))
  WHERE json_type(track, '$.seenAt') IS NULL;
`;

/** The alert outbox: grouped messages with their delivery state, and each destination's cursor in the audit log. */
export const OUTBOX_SCHEMA = `
CREATE TABLE IF NOT EXISTS alert_cursors (destination TEXT PRIMARY KEY, event_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS alert_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, delivery_id TEXT NOT NULL UNIQUE,
  destination TEXT NOT NULL, key TEXT NOT NULL, message TEXT NOT NULL, event_ids TEXT NOT NULL,
  max_event_id INTEGER NOT NULL, created_at INTEGER NOT NULL, next_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL DEFAULT 'pending', last_error TEXT);
CREATE INDEX IF NOT EXISTS alert_outbox_pending ON alert_outbox (destination, state, id);
`;
