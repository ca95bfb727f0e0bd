/**
 * The `Store` of the Workers coordinator, on a SQLite-backed Durable Object's storage. Each `commit`
 * runs in one `transactionSync`: a throw (a replayed report id) rolls everything back, and the Durable
 * Object's output gate holds the answer until the write is durable.
 */
import type { ServiceState } from "../engine.ts";
import { numberEvent, replayOnly } from "./memory.ts";
import {
  DELETE_EVENTS_THROUGH,
  DELETE_OLD_REPORTS,
  type EventPruning,
  OLDEST_EVENTS,
  prunablePrefix,
} from "./prune.ts";
import { STORE_MIGRATIONS, STORE_SCHEMA } from "./schema.ts";
import {
  type AuditEvent,
  type Commit,
  type CommitOutcome,
  type ProbeRow,
  type ProviderRouterRow,
  ReplayError,
  type Snapshot,
  type Store,
  type TrackRow,
} from "./store.ts";

/** A value SQLite hands back or takes as a binding in a Durable Object. */
export type SqlValue = ArrayBuffer | string | number | null;

/** The part of `DurableObjectStorage` (@cloudflare/workers-types) the store and the outbox use. */
export interface DurableSqlStorage {
  sql: {
    exec<T extends Record<string, SqlValue>>(query: string, ...bindings: SqlValue[]): { toArray(): T[] };
  };
  transactionSync<T>(closure: () => T): T;
}

type TrackColumns = { probe: string; service: string; endpoint: TrackRow["endpoint"]; track: string };
type ProbeColumns = { id: string; last_seen: number | null; healthy: number; silent: number };
type DesiredColumns = { service: string; router: string; target: string; decided_at: number };
type ProviderColumns = {
  provider: string;
  router: string;
  state: ProviderRouterRow["state"];
  target: string | null;
  error: string | null;
  updated_at: number;
};

/** A `Store` in the SQLite database of the Durable Object that owns `storage`. */
export class DurableStore implements Store {
  readonly #storage: DurableSqlStorage;

  constructor(storage: DurableSqlStorage) {
    this.#storage = storage;
    storage.sql.exec(STORE_SCHEMA);
    storage.sql.exec(STORE_MIGRATIONS);
  }

  async commit(change: Commit): Promise<AuditEvent[]> {
    return this.#storage.transactionSync(() => this.#apply(change));
  }

  /** Several changes in one `transactionSync`; a replayed one is refused before it writes anything. */
  async commitMany(changes: readonly Commit[]): Promise<CommitOutcome[]> {
    return this.#storage.transactionSync(() =>
      changes.map((change) => {
        try {
          return this.#apply(change);
        } catch (error) {
          return replayOnly(error);
        }
      }),
    );
  }

  #apply(change: Commit): AuditEvent[] {
    const exec = this.#storage.sql.exec.bind(this.#storage.sql);
    if (change.report) {
      const { probe, id, at } = change.report;
      const seen = exec("SELECT 1 AS seen FROM reports WHERE probe = ? AND id = ?", probe, id).toArray();
      if (seen.length > 0) throw new ReplayError(probe, id);
      exec("INSERT INTO reports (probe, id, at) VALUES (?, ?, ?)", probe, id, at);
    }
    for (const s of change.services ?? [])
      exec("INSERT OR REPLACE INTO services (name, state) VALUES (?, ?)", s.name, JSON.stringify(s));
    for (const t of change.tracks ?? [])
      exec(
        "INSERT OR REPLACE INTO tracks (probe, service, endpoint, track) VALUES (?, ?, ?, ?)",
        t.probe,
        t.service,
        t.endpoint,
        JSON.stringify(t.track),
      );
    for (const p of change.probes ?? [])
      exec(
        "INSERT OR REPLACE INTO probes (id, last_seen, healthy, silent) VALUES (?, ?, ?, ?)",
        p.id,
        p.lastSeen,
        p.healthy ? 1 : 0,
        p.silent ? 1 : 0,
      );
    for (const d of change.desired ?? [])
      exec(
        "INSERT OR REPLACE INTO desired (service, router, target, decided_at) VALUES (?, ?, ?, ?)",
        d.service,
        d.router,
        d.target,
        d.decidedAt,
      );
    for (const r of change.providerStates ?? [])
      exec(
        "INSERT OR REPLACE INTO provider_states (provider, router, state, target, error, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        r.provider,
        r.router,
        r.state,
        r.target,
        r.error ?? null,
        r.updatedAt,
      );
    return (change.events ?? []).map((event) => {
      const { at, ...body } = event;
      const [row] = exec<{ id: number }>(
        "INSERT INTO events (at, body) VALUES (?, ?) RETURNING id",
        at,
        JSON.stringify(body),
      ).toArray();
      if (!row) throw new Error(`Cannot store event "${event.type}": SQLite returned no id`);
      return numberEvent(event, row.id);
    });
  }

  async snapshot(): Promise<Snapshot> {
    const { sql } = this.#storage;
    // Rows are written only by this class, so their JSON columns hold the shapes it wrote.
    return {
      services: sql
        .exec<{ state: string }>("SELECT state FROM services")
        .toArray()
        .map((row) => JSON.parse(row.state) as ServiceState),
      tracks: sql
        .exec<TrackColumns>("SELECT probe, service, endpoint, track FROM tracks")
        .toArray()
        .map((row) => ({ ...row, track: JSON.parse(row.track) as TrackRow["track"] })),
      probes: sql
        .exec<ProbeColumns>("SELECT id, last_seen, healthy, silent FROM probes")
        .toArray()
        .map(
          (row): ProbeRow => ({
            id: row.id,
            lastSeen: row.last_seen,
            healthy: row.healthy === 1,
            silent: row.silent === 1,
          }),
        ),
      desired: sql
        .exec<DesiredColumns>("SELECT service, router, target, decided_at FROM desired")
        .toArray()
        .map((row) => ({
          service: row.service,
          router: row.router,
          target: row.target,
          decidedAt: row.decided_at,
        })),
      providerStates: sql
        .exec<ProviderColumns>(
          "SELECT provider, router, state, target, error, updated_at FROM provider_states",
        )
        .toArray()
        .map((row) => ({
          provider: row.provider,
          router: row.router,
          state: row.state,
          target: row.target,
          updatedAt: row.updated_at,
          ...(row.error !== null ? { error: row.error } : {}),
        })),
    };
  }

  async listEvents(options: { sinceMs?: number; afterId?: number; limit?: number }): Promise<AuditEvent[]> {
    const rows = this.#storage.sql
      .exec<{ id: number; at: number; body: string }>(
        "SELECT id, at, body FROM events WHERE at >= ? AND id > ? ORDER BY id LIMIT ?",
        options.sinceMs ?? 0,
        options.afterId ?? 0,
        options.limit ?? 1000,
      )
      .toArray();
    // `body` is written only by `commit`, as an event without its id and time.
    return rows.map((row) =>
      numberEvent({ ...(JSON.parse(row.body) as Omit<AuditEvent, "id" | "at">), at: row.at }, row.id),
    );
  }

  /** Whether this probe's report id was accepted and not yet pruned. */
  async hasReport(probe: string, id: string): Promise<boolean> {
    const rows = this.#storage.sql
      .exec("SELECT 1 AS seen FROM reports WHERE probe = ? AND id = ?", probe, id)
      .toArray();
    return rows.length > 0;
  }

  async pruneReports(beforeMs: number, limit = -1): Promise<number> {
    const gone = this.#storage.sql.exec(`${DELETE_OLD_REPORTS} RETURNING 1 AS gone`, beforeMs, limit);
    return gone.toArray().length;
  }

  async pruneEvents(rule: EventPruning): Promise<number> {
    const { sql } = this.#storage;
    const rows = sql.exec<{ id: number; at: number }>(OLDEST_EVENTS, rule.limit).toArray();
    const last = prunablePrefix(rows, rule);
    if (last === null) return 0;
    sql.exec(DELETE_EVENTS_THROUGH, last);
    // Only the leading rows read above have an id up to `last`.
    return rows.filter((row) => row.id <= last).length;
  }

  // The Durable Object owns its storage; there is nothing to close.
  async close(): Promise<void> {}
}
