/**
 * The coordinator's vote book: each probe's track of each endpoint and what is known of each probe.
 * It folds an accepted report into tracks (without touching its own state until the fold is stored)
 * and counts the votes of a service at a given time.
 */
import type { Config, ServiceConfig } from "../shared/config-schema.ts";
import { checkedResults, notCheckedCount } from "../shared/not-checked.ts";
import type { Endpoint, Report } from "../shared/protocol.ts";
import {
  applyResult,
  type CountedVote,
  type EndpointTrack,
  effectiveVote,
  emptyTrack,
  newestPerEndpoint,
  olderThanFolded,
  sameStanding,
  verdictOf,
} from "../shared/quorum.ts";
import type { RoundVerdicts } from "./engine.ts";
import type { NewEvent, ProbeRow, TrackRow } from "./store/store.ts";

/** A service's verdicts, the per-probe votes behind them, and the tally an event records. */
export type ServiceVerdicts = RoundVerdicts & {
  counted: Record<Endpoint, CountedVote[]>;
  votes: NonNullable<NewEvent["votes"]>;
};

/** What folding one report changes: rows to store, services touched, events; applied once stored. */
export interface Fold {
  probe: ProbeRow;
  /** The round the report belongs to (its `sentAt`). */
  round: string;
  /** Every folded track, keyed by probe|service|endpoint (a report can carry thousands of results). */
  changed: Map<string, TrackRow>;
  /** The folded tracks that must be written (see `mustStore`). */
  stored: TrackRow[];
  /** Services whose votes the report touched. */
  touched: Set<string>;
  events: NewEvent[];
}

const trackKey = (probe: string, service: string, endpoint: Endpoint) => `${probe}|${service}|${endpoint}`;

/** The votes of every configured probe, for every service endpoint. */
export class VoteBook {
  readonly #config: Config;
  readonly #serviceByName: Map<string, ServiceConfig>;
  readonly #tracks = new Map<string, TrackRow>();
  /** The `seenAt` of each track as last stored: never later than the one in memory. */
  readonly #storedSeenAt = new Map<string, number | null>();
  readonly #probes = new Map<string, ProbeRow>();
  /** Each probe's latest round (its `sentAt`): the parts of one round add up their not-checked counts. */
  readonly #rounds = new Map<string, string>();

  constructor(config: Config) {
    this.#config = config;
    this.#serviceByName = new Map(config.services.map((svc) => [svc.name, svc]));
  }

  /** Takes the tracks and probes a store held at start. */
  load(tracks: readonly TrackRow[], probes: readonly ProbeRow[]): void {
    for (const row of tracks) {
      const key = trackKey(row.probe, row.service, row.endpoint);
      this.#tracks.set(key, row);
      this.#storedSeenAt.set(key, row.track.seenAt);
    }
    for (const row of probes) this.#probes.set(row.id, row);
  }

  /** Folds an authenticated report at `now`; nothing changes here until `apply` is called with the result. */
  fold(report: Report, now: number): Fold {
    const known = this.#probes.get(report.probe);
    // A probe splits a large round into several reports with one `sentAt` (CONTRACT §5): one round.
    const sameRound = this.#rounds.get(report.probe) === report.sentAt;
    const before = sameRound ? (known?.notChecked ?? 0) : 0;
    const probe: ProbeRow = {
      id: report.probe,
      lastSeen: now,
      healthy: report.healthy,
      silent: false,
      notChecked: before + notCheckedCount(report.results),
    };
    const fold: Fold = {
      probe,
      round: report.sentAt,
      changed: new Map(),
      stored: [],
      touched: new Set(),
      events: known?.silent
        ? [{ at: now, type: "probe.back", message: `Probe "${report.probe}" is reporting again` }]
        : [],
    };
    if (report.healthy) this.#foldResults(report, now, fold);
    return fold;
  }

  #foldResults(report: Report, now: number, fold: Fold): void {
    // One result per endpoint counts (the newest); one older than the result already folded is ignored.
    for (const result of newestPerEndpoint(checkedResults(report.results))) {
      const svc = this.#serviceByName.get(result.service);
      if (!svc) continue;
      const key = trackKey(report.probe, result.service, result.endpoint);
      const previous = this.#tracks.get(key)?.track;
      if (olderThanFolded(previous, result.checkedAt)) continue;
      const last: NonNullable<EndpointTrack["last"]> = { ok: result.ok, checkedAt: result.checkedAt };
      if (result.status !== undefined) last.status = result.status;
      if (result.latencyMs !== undefined) last.latencyMs = result.latencyMs;
      if (result.error !== undefined) last.error = result.error;
      const track = applyResult(previous ?? emptyTrack(), last, svc, now);
      const row = { probe: report.probe, service: result.service, endpoint: result.endpoint, track };
      fold.changed.set(key, row);
      if (this.#mustStore(key, previous, track, now)) fold.stored.push(row);
      fold.touched.add(result.service);
    }
  }

  /** Takes a stored fold into the book. */
  apply(fold: Fold): void {
    for (const [key, row] of fold.changed) this.#tracks.set(key, row);
    for (const row of fold.stored)
      this.#storedSeenAt.set(trackKey(row.probe, row.service, row.endpoint), row.track.seenAt);
    this.#probes.set(fold.probe.id, fold.probe);
    this.#rounds.set(fold.probe.id, fold.round);
  }

  /**
   * Whether a folded track must be written: its standing changed, or its stored `seenAt` is more than
   * an interval old. Otherwise the store keeps an older `seenAt` (and `last`): after a restart such a
   * vote turns stale sooner than it would have, never later, and the next report refreshes it.
   */
  #mustStore(key: string, previous: EndpointTrack | undefined, track: EndpointTrack, now: number): boolean {
    const storedSeenAt = this.#storedSeenAt.get(key);
    if (!previous || storedSeenAt === undefined || storedSeenAt === null) return true;
    if (now - storedSeenAt > this.#config.probes.interval) return true;
    return !sameStanding(previous, track);
  }

  /** Takes stored probe rows (e.g. probes marked silent by a round). */
  setProbes(rows: readonly ProbeRow[]): void {
    for (const row of rows) this.#probes.set(row.id, row);
  }

  /** The verdicts of a service's two paths at `now`, with each configured probe's vote. */
  verdicts(svc: ServiceConfig, now: number): ServiceVerdicts {
    const intervalMs = this.#config.probes.interval;
    const count = (endpoint: Endpoint): CountedVote[] =>
      this.#config.probes.members.map((member) => {
        const row = this.#probes.get(member.id);
        const seen = { lastSeen: row?.lastSeen ?? null, healthy: row?.healthy ?? true };
        const track = this.#tracks.get(trackKey(member.id, svc.name, endpoint))?.track;
        return {
          probe: member.id,
          provider: member.provider,
          vote: effectiveVote(track, seen, { now, intervalMs }),
        };
      });
    const counted = { primary: count("primary"), secondary: count("secondary") };
    const primary = verdictOf(counted.primary, this.#config.probes.quorum);
    const secondary = verdictOf(counted.secondary, this.#config.probes.quorum);
    return { primary, secondary, counted, votes: { primary: primary.votes, secondary: secondary.votes } };
  }

  /** One probe's track of one endpoint, if it reported one. */
  track(probe: string, service: string, endpoint: Endpoint): EndpointTrack | undefined {
    return this.#tracks.get(trackKey(probe, service, endpoint))?.track;
  }

  /** What is known of a probe (the stored row itself: callers copy before handing it out). */
  probe(id: string): ProbeRow | undefined {
    return this.#probes.get(id);
  }
}
