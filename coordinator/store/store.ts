/** The coordinator's persistence port: one atomic `commit` for every state change, plus reads. */

import type { Endpoint } from "../../shared/protocol.ts";
import type { EndpointTrack, Tally } from "../../shared/quorum.ts";
import type { ServiceState } from "../engine.ts";
import { HttpError } from "../http-error.ts";
import type { EventPruning } from "./prune.ts";

/** Event types of the audit log (CONTRACT §6); more may be added. */
export type EventType =
  | "failover"
  | "failback"
  | "pin"
  | "pause"
  | "resume"
  | "dns.switched"
  | "dns.error"
  | "dns.drift"
  | "dns.recovered"
  | "both-down"
  | "both-down.cleared"
  | "active.down"
  | "active.down.cleared"
  | "probe.silent"
  | "probe.back"
  | "flap.held"
  | "switch.suppressed"
  | "coordinator.started"
  | (string & {});

/** One entry of the audit log, as served by `GET /v1/events`. */
export interface AuditEvent {
  id: number;
  at: string;
  type: EventType;
  service?: string;
  from?: Endpoint;
  to?: Endpoint;
  provider?: string;
  votes?: { primary: Tally; secondary: Tally };
  actor?: string;
  message: string;
  /** HA mode: the etcd ledger's decision number (revision) this event records; the same on every member. */
  decision?: number;
}

/** An event before the store numbers it; `at` in ms. */
export type NewEvent = Omit<AuditEvent, "id" | "at"> & { at: number };

/** One probe's track of one endpoint of one service. */
export interface TrackRow {
  probe: string;
  service: string;
  endpoint: Endpoint;
  track: EndpointTrack;
}

/** What the coordinator knows of one probe. */
export interface ProbeRow {
  id: string;
  lastSeen: number | null;
  healthy: boolean;
  silent: boolean;
  /** Results of its latest report it could not check (kept in memory only; status and metrics). */
  notChecked?: number;
}

/** The DNS target a decision wants for a router; written before any DNS write for it starts. */
export interface DesiredRouter {
  service: string;
  /** Router FQDN without the trailing dot. */
  router: string;
  /** Target FQDN with the trailing dot. */
  target: string;
  decidedAt: number;
}

/** The reconciler's view of one router on one provider. */
export interface ProviderRouterRow {
  provider: string;
  router: string;
  state: "in-sync" | "pending" | "error";
  /** What the provider was last seen serving (null: nothing, or not read yet). */
  target: string | null;
  error?: string;
  updatedAt: number;
}

/** Everything one state change writes, applied all-or-nothing. */
export interface Commit {
  services?: ServiceState[];
  desired?: DesiredRouter[];
  tracks?: TrackRow[];
  probes?: ProbeRow[];
  providerStates?: ProviderRouterRow[];
  events?: NewEvent[];
  /** Accepting a report: refused with `ReplayError` when this probe's report id was accepted before. */
  report?: { probe: string; id: string; at: number };
}

/** Thrown by `commit` when a report id was already accepted from that probe; nothing was written. */
export class ReplayError extends Error {
  constructor(probe: string, id: string) {
    super(`Report "${id}" from probe "${probe}" was already accepted`);
    this.name = "ReplayError";
  }
}

/**
 * Thrown by `commit` when the state the change was computed from is stale (another coordinator of
 * an HA cluster changed it first) or this coordinator may not make it (it does not lead); nothing
 * was written. An operator sees 409 and retries.
 */
export class StaleStateError extends HttpError {
  constructor(message: string) {
    super(409, "conflict", message);
    this.name = "StaleStateError";
  }
}

/** What one change of a `commitMany` came to: its stored events, or the replay that refused it (none of it written). */
export type CommitOutcome = AuditEvent[] | ReplayError;

/** The state the coordinator reloads on start. */
export interface Snapshot {
  services: ServiceState[];
  tracks: TrackRow[];
  probes: ProbeRow[];
  desired: DesiredRouter[];
  providerStates: ProviderRouterRow[];
}

/** Persistence port; implementations: `sqlite.ts` (Node), `memory.ts` (tests, single-process). */
export interface Store {
  /** Applies a change atomically and returns the events it stored, numbered. */
  commit(change: Commit): Promise<AuditEvent[]>;
  /**
   * Applies several changes in one transaction (one fsync: group commit), in order, event ids
   * consecutive across them. A change whose report id was accepted before (earlier in the same call
   * included) is left out whole and answered with its `ReplayError`; any other failure writes nothing.
   */
  commitMany(changes: readonly Commit[]): Promise<CommitOutcome[]>;
  /**
   * Waits until what is ready to join the next group commit has joined it: a store whose commit
   * blocks the thread (better-sqlite3) lets one turn of the event loop read the requests that came
   * in meanwhile. Absent: the batch is taken at once.
   */
  gather?(): Promise<void>;
  /** Everything needed to resume after a restart. */
  snapshot(): Promise<Snapshot>;
  /** Events at or after `sinceMs` (or after event id `afterId`), oldest first, at most `limit`. */
  listEvents(options: { sinceMs?: number; afterId?: number; limit?: number }): Promise<AuditEvent[]>;
  /** Whether this probe's report id was accepted (and not yet pruned); lets a replay be refused before schema checks. */
  hasReport?(probe: string, id: string): Promise<boolean>;
  /** Forgets accepted report ids older than `beforeMs`, oldest first, at most `limit` (default all); returns how many. */
  pruneReports(beforeMs: number, limit?: number): Promise<number>;
  /** Forgets the oldest events as `rule` allows (a prefix of the log: ids never go back); returns how many. */
  pruneEvents(rule: EventPruning): Promise<number>;
  close(): Promise<void>;
}
