/**
 * The embedded SQLite `Store` (Node only). better-sqlite3 is synchronous and commits each change in
 * one WAL transaction with `synchronous=FULL`, so a `kill -9` right after `commit` returns loses nothing.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
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

/** A `Store` in `DIR/healthmesh.db`. */
export class SqliteStore implements Store {
  /** The open database, for modules that keep their own tables beside these (e.g. the alert outbox). */
  readonly db: Database.Database;
  readonly #apply: (change: Commit) => AuditEvent[];
  readonly #applyMany: (changes: readonly Commit[]) => CommitOutcome[];

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.db = new Database(join(dir, "healthmesh.db"));
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL");
    this.db.pragma("busy_timeout = 5000");
    this.db.exec(STORE_SCHEMA);
    this.db.exec(STORE_MIGRATIONS);
    const statements = {
      report: this.db.prepare("INSERT INTO reports (probe, id, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"),
      service: this.db.prepare("INSERT OR REPLACE INTO services (name, state) VALUES (?, ?)"),
      track: this.db.prepare(
        "INSERT OR REPLACE INTO tracks (probe, service, endpoint, track) VALUES (?, ?, ?, ?)",
      ),
      probe: this.db.prepare(
        "INSERT OR REPLACE INTO probes (id, last_seen, healthy, silent) VALUES (?, ?, ?, ?)",
      ),
      desired: this.db.prepare(
        "INSERT OR REPLACE INTO desired (service, router, target, decided_at) VALUES (?, ?, ?, ?)",
      ),
      providerState: this.db.prepare(
        "INSERT OR REPLACE INTO provider_states (provider, router, state, target, error, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
      ),
      event: this.db.prepare("INSERT INTO events (at, body) VALUES (?, ?)"),
    };
    const apply = (change: Commit): AuditEvent[] => {
      if (change.report) {
        const { probe, id, at } = change.report;
        if (statements.report.run(probe, id, at).changes === 0) throw new ReplayError(probe, id);
      }
      for (const s of change.services ?? []) statements.service.run(s.name, JSON.stringify(s));
      for (const t of change.tracks ?? [])
        statements.track.run(t.probe, t.service, t.endpoint, JSON.stringify(t.track));
      for (const p of change.probes ?? [])
        statements.probe.run(p.id, p.lastSeen, p.healthy ? 1 : 0, p.silent ? 1 : 0);
      for (const d of change.desired ?? [])
        statements.desired.run(d.service, d.router, d.target, d.decidedAt);
      for (const r of change.providerStates ?? []) {
        statements.providerState.run(r.provider, r.router, r.state, r.target, r.error ?? null, r.updatedAt);
      }
      return (change.events ?? []).map((event) => {
        const { at, ...body } = event;
        const id = Number(statements.event.run(at, JSON.stringify(body)).lastInsertRowid);
        return numberEvent(event, id);
      });
    };
    this.#apply = this.db.transaction(apply);
    // The replay check is each change's first statement and writes nothing when it refuses, so the
    // others of the batch go on in the same transaction.
    this.#applyMany = this.db.transaction((changes: readonly Commit[]): CommitOutcome[] =>
      changes.map((change) => {
        try {
          return apply(change);
        } catch (error) {
          return replayOnly(error);
        }
      }),
    );
  }

  async commit(change: Commit): Promise<AuditEvent[]> {
    return this.#apply(change);
  }

  async commitMany(changes: readonly Commit[]): Promise<CommitOutcome[]> {
    return this.#applyMany(changes);
  }

  /** One turn of the event loop: reports whose requests arrived during the last (blocking) commit join the next. */
  gather(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }

  async snapshot(): Promise<Snapshot> {
    // Rows are written only by this class, so their JSON columns hold the shapes it wrote.
    const services = this.db.prepare("SELECT state FROM services").all() as { state: string }[];
    const tracks = this.db.prepare("SELECT probe, service, endpoint, track FROM tracks").all() as {
      probe: string;
      service: string;
      endpoint: TrackRow["endpoint"];
      track: string;
    }[];
    const probes = this.db.prepare("SELECT id, last_seen, healthy, silent FROM probes").all() as {
      id: string;
      last_seen: number | null;
      healthy: number;
      silent: number;
    }[];
    const desired = this.db.prepare("SELECT service, router, target, decided_at FROM desired").all() as {
      service: string;
      router: string;
      target: string;
      decided_at: number;
    }[];
    const providerStates = this.db.prepare("SELECT * FROM provider_states").all() as {
      provider: string;
      router: string;
      state: ProviderRouterRow["state"];
      target: string | null;
      error: string | null;
      updated_at: number;
    }[];
    return {
      services: services.map((row) => JSON.parse(row.state) as ServiceState),
      tracks: tracks.map((row) => ({ ...row, track: JSON.parse(row.track) as TrackRow["track"] })),
      probes: probes.map(
        (row): ProbeRow => ({
          id: row.id,
          lastSeen: row.last_seen,
          healthy: row.healthy === 1,
          silent: row.silent === 1,
        }),
      ),
      desired: desired.map((row) => ({
        service: row.service,
        router: row.router,
        target: row.target,
        decidedAt: row.decided_at,
      })),
      providerStates: providerStates.map((row) => {
        const out: ProviderRouterRow = {
          provider: row.provider,
          router: row.router,
          state: row.state,
          target: row.target,
          updatedAt: row.updated_at,
        };
        if (row.error !== null) out.error = row.error;
        return out;
      }),
    };
  }

  async listEvents(options: { sinceMs?: number; afterId?: number; limit?: number }): Promise<AuditEvent[]> {
    const rows = this.db
      .prepare("SELECT id, at, body FROM events WHERE at >= ? AND id > ? ORDER BY id LIMIT ?")
      .all(options.sinceMs ?? 0, options.afterId ?? 0, options.limit ?? 1000) as {
      id: number;
      at: number;
      body: string;
    }[];
    return rows.map((row) =>
      numberEvent({ ...(JSON.parse(row.body) as Omit<AuditEvent, "id" | "at">), at: row.at }, row.id),
    );
  }

  async hasReport(probe: string, id: string): Promise<boolean> {
    return this.db.prepare("SELECT 1 FROM reports WHERE probe = ? AND id = ?").get(probe, id) !== undefined;
  }

  async pruneReports(beforeMs: number, limit = -1): Promise<number> {
    return this.db.prepare(DELETE_OLD_REPORTS).run(beforeMs, limit).changes;
  }

  async pruneEvents(rule: EventPruning): Promise<number> {
    const rows = this.db.prepare(OLDEST_EVENTS).all(rule.limit) as { id: number; at: number }[]; // the selected columns
    const last = prunablePrefix(rows, rule);
    return last === null ? 0 : this.db.prepare(DELETE_EVENTS_THROUGH).run(last).changes;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
