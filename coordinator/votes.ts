/**
 * The coordinator's vote book: each probe's track of each endpoint and what is known of each probe.
 * It folds an accepted report into tracks (without touching its own state until the fold is stored)
 * and counts the votes of a service at a given time.
 *
 * The work follows what changed. Tracks sit in one array indexed by service, endpoint and probe (no
 * key string per vote), and the vote each one counts at the book's time is cached beside it. A fold
 * updates the cached votes of the tracks it changed; time alone changes a vote only when a track goes
 * stale (a time-ordered heap says which, and when) or a probe falls silent or comes back (checked per
 * probe, then its tracks). Every service whose counted votes moved is marked *dirty*: a round decides
 * for dirty services (and the ones the service book says time can move), not for every service. The
 * counting rules are `shared/quorum.ts`'s; `verdicts` applies them to the cached votes.
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
  isSilent,
  newestPerEndpointTimed,
  STALE_INTERVALS,
  sameStanding,
  type Vote,
  verdictOf,
} from "../shared/quorum.ts";
import type { RoundVerdicts } from "./engine.ts";
import type { NewEvent, ProbeRow, TrackRow } from "./store/store.ts";

/** A service's verdicts, the per-probe votes behind them, and the tally an event records. */
export type ServiceVerdicts = RoundVerdicts & {
  counted: Record<Endpoint, CountedVote[]>;
  votes: NonNullable<NewEvent["votes"]>;
};

/** One folded track: where it goes in the book, and its row for the store. */
interface FoldedTrack {
  slot: number;
  row: TrackRow;
  /** Its result's `checkedAt`, parsed (ms). */
  at: number;
}

/** What folding one report changes: rows to store, services touched, events; applied once stored. */
export interface Fold {
  probe: ProbeRow;
  /** The round the report belongs to (its `sentAt`). */
  round: string;
  /** Every folded track (a report can carry thousands of results). */
  changed: FoldedTrack[];
  /** The folded tracks that must be written (see `mustStore`). */
  stored: TrackRow[];
  /** Services whose votes the report touched. */
  touched: Set<string>;
  events: NewEvent[];
}

/** Cached counted votes, one byte per track. */
const ABSTAIN = 0;
const UP = 1;
const DOWN = 2;
const VOTES: readonly Vote[] = ["abstain", "up", "down"];

/** The votes of every configured probe, for every service endpoint. */
export class VoteBook {
  readonly #config: Config;
  readonly #serviceIndex: Map<string, number>;
  readonly #probeIndex: Map<string, number>;
  /** Probes per service endpoint: a track's slot is `(service × 2 + endpoint) × probes + probe`. */
  readonly #width: number;
  readonly #staleMs: number;
  /** How old a stored `seenAt` may grow before an unchanged track is written again. */
  readonly #refreshMs: number;
  readonly #tracks: (EndpointTrack | undefined)[];
  /** The `seenAt` of each track as last stored (NaN: never): never later than the one in memory. */
  readonly #storedSeenAt: Float64Array;
  /** Each track's latest `checkedAt`, parsed (ms; NaN when none): `olderThanFolded` without parsing it again. */
  readonly #checkedAt: Float64Array;
  /** Each track's counted vote at `#at` (ABSTAIN, UP, DOWN). */
  readonly #counted: Uint8Array;
  /** Whether a track has an entry in the staleness heap. */
  readonly #queued: Uint8Array;
  readonly #stale = new StaleHeap();
  /** Per probe: whether its votes count at `#at` (it reports, and its canaries pass). */
  readonly #probeCounts: Uint8Array;
  readonly #probes = new Map<string, ProbeRow>();
  /** Each probe's latest round (its `sentAt`): the parts of one round add up their not-checked counts. */
  readonly #rounds = new Map<string, string>();
  /** Services whose counted votes moved since a round last decided for them (indexes). */
  readonly #dirty = new Set<number>();
  /** Reused per-probe lists `tallies` counts into (verdictOf reads them and keeps nothing). */
  readonly #scratch: Record<Endpoint, CountedVote[]>;
  /** The time the cached votes hold for; -Infinity until the first refresh. */
  #at = Number.NEGATIVE_INFINITY;

  constructor(config: Config) {
    this.#config = config;
    this.#serviceIndex = new Map(config.services.map((svc, i) => [svc.name, i]));
    this.#probeIndex = new Map(config.probes.members.map((m, i) => [m.id, i]));
    this.#width = config.probes.members.length;
    this.#staleMs = STALE_INTERVALS * config.probes.interval;
    this.#refreshMs = (STALE_INTERVALS - 1) * config.probes.interval;
    const slots = config.services.length * 2 * this.#width;
    this.#tracks = new Array(slots).fill(undefined);
    this.#storedSeenAt = new Float64Array(slots).fill(Number.NaN);
    this.#checkedAt = new Float64Array(slots).fill(Number.NaN);
    this.#counted = new Uint8Array(slots);
    this.#queued = new Uint8Array(slots);
    this.#probeCounts = new Uint8Array(this.#width);
    const list = () =>
      config.probes.members.map((m): CountedVote => ({ probe: m.id, provider: m.provider, vote: "abstain" }));
    this.#scratch = { primary: list(), secondary: list() };
  }

  /** Takes the tracks and probes a store held at start; every service is dirty until a round decides it. */
  load(tracks: readonly TrackRow[], probes: readonly ProbeRow[]): void {
    for (const row of tracks) {
      const slot = this.#slot(row.probe, row.service, row.endpoint);
      if (slot === undefined) continue; // a probe or service no longer configured
      this.#tracks[slot] = row.track;
      this.#storedSeenAt[slot] = row.track.seenAt ?? Number.NaN;
      this.#checkedAt[slot] = row.track.last ? Date.parse(row.track.last.checkedAt) : Number.NaN;
    }
    for (const row of probes) this.#probes.set(row.id, row);
    this.#at = Number.NEGATIVE_INFINITY;
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
      changed: [],
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
    const probe = this.#probeIndex.get(report.probe);
    if (probe === undefined) return;
    const services = this.#config.services;
    // One result per endpoint counts (the newest); one older than the result already folded is ignored.
    for (const { result, at } of newestPerEndpointTimed(checkedResults(report.results))) {
      const index = this.#serviceIndex.get(result.service);
      if (index === undefined) continue;
      const svc = services[index] as ServiceConfig;
      const slot = (index * 2 + (result.endpoint === "primary" ? 0 : 1)) * this.#width + probe;
      const previous = this.#tracks[slot];
      // `olderThanFolded`, on the parsed times (NaN when the track has no result: never older).
      if (at < (this.#checkedAt[slot] as number)) continue;
      const last: NonNullable<EndpointTrack["last"]> = { ok: result.ok, checkedAt: result.checkedAt };
      if (result.status !== undefined) last.status = result.status;
      if (result.latencyMs !== undefined) last.latencyMs = result.latencyMs;
      if (result.error !== undefined) last.error = result.error;
      const track = applyResult(previous ?? emptyTrack(), last, svc, now);
      const row = { probe: report.probe, service: result.service, endpoint: result.endpoint, track };
      fold.changed.push({ slot, row, at });
      if (this.#mustStore(slot, previous, track, now)) fold.stored.push(row);
      fold.touched.add(result.service);
    }
  }

  /** Takes a stored fold into the book: the changed tracks' counted votes follow at once. */
  apply(fold: Fold): void {
    this.#probes.set(fold.probe.id, fold.probe);
    this.#rounds.set(fold.probe.id, fold.round);
    this.advance(fold.probe.lastSeen ?? this.#at); // the fold's own time: the probe's vote may count again
    const stored = new Set(fold.stored);
    for (const { slot, row, at } of fold.changed) {
      this.#tracks[slot] = row.track;
      this.#checkedAt[slot] = at;
      if (stored.has(row)) this.#storedSeenAt[slot] = row.track.seenAt ?? Number.NaN;
      this.#recount(slot);
      this.#queue(slot);
    }
  }

  /**
   * Whether a folded track must be written: its standing changed, or its stored `seenAt` is more than
   * `STALE_INTERVALS - 1` intervals old. Otherwise the store keeps an older `seenAt` (and `last`):
   * after a restart such a vote turns stale sooner than it would have, never later, yet still counts
   * for at least an interval, within which the probe's next report refreshes it. A mesh whose votes
   * hold writes each track every third report instead of every report.
   */
  #mustStore(slot: number, previous: EndpointTrack | undefined, track: EndpointTrack, now: number): boolean {
    const storedSeenAt = this.#storedSeenAt[slot] as number;
    if (!previous || Number.isNaN(storedSeenAt)) return true;
    if (now - storedSeenAt > this.#refreshMs) return true;
    return !sameStanding(previous, track);
  }

  /** Takes stored probe rows (e.g. probes marked silent by a round). */
  setProbes(rows: readonly ProbeRow[]): void {
    for (const row of rows) this.#probes.set(row.id, row);
  }

  /**
   * Brings the counted votes to `now`: probes that fell silent or came back, tracks gone stale.
   * Marks the services whose votes moved dirty. Cheap when nothing is due.
   */
  advance(now: number): void {
    if (now < this.#at) this.#at = Number.NEGATIVE_INFINITY; // the clock went back: count everything again
    const first = this.#at === Number.NEGATIVE_INFINITY;
    this.#at = now;
    if (first) {
      this.#recountAll();
      return;
    }
    for (let probe = 0; probe < this.#width; probe++) {
      const counts = this.#probeCountsAt(probe, now);
      if (counts === (this.#probeCounts[probe] === 1)) continue;
      this.#probeCounts[probe] = counts ? 1 : 0;
      for (let base = 0; base < this.#tracks.length; base += this.#width) this.#recount(base + probe);
    }
    for (;;) {
      const top = this.#stale.peek();
      if (top === undefined || !(now - top.seenAt > this.#staleMs)) break;
      this.#stale.pop();
      this.#queued[top.slot] = 0;
      this.#recount(top.slot);
      this.#queue(top.slot); // refreshed since it was queued: queued again with its new time
    }
  }

  /** The services whose counted votes moved since a round last decided for them. */
  dirty(): string[] {
    const services = this.#config.services;
    return [...this.#dirty].map((i) => (services[i] as ServiceConfig).name);
  }

  /** Marks every service dirty (a member that starts to decide, state taken from elsewhere). */
  markAllDirty(): void {
    for (let i = 0; i < this.#config.services.length; i++) this.#dirty.add(i);
  }

  /** A round decided for these services with the votes counted now. */
  settle(names: Iterable<string>): void {
    for (const name of names) {
      const index = this.#serviceIndex.get(name);
      if (index !== undefined) this.#dirty.delete(index);
    }
  }

  /** The verdicts of a service's two paths at `now`, with each configured probe's vote. */
  verdicts(svc: ServiceConfig, now: number): ServiceVerdicts {
    this.advance(now);
    const index = this.#serviceIndex.get(svc.name);
    const members = this.#config.probes.members;
    const count = (endpoint: Endpoint): CountedVote[] => {
      const base = index === undefined ? -1 : (index * 2 + (endpoint === "primary" ? 0 : 1)) * this.#width;
      return members.map((member, probe) => ({
        probe: member.id,
        provider: member.provider,
        vote: base < 0 ? "abstain" : (VOTES[this.#counted[base + probe] as number] as Vote),
      }));
    };
    const counted = { primary: count("primary"), secondary: count("secondary") };
    const primary = verdictOf(counted.primary, this.#config.probes.quorum);
    const secondary = verdictOf(counted.secondary, this.#config.probes.quorum);
    return { primary, secondary, counted, votes: { primary: primary.votes, secondary: secondary.votes } };
  }

  /**
   * The verdicts and tallies of a service's two paths at `now`, without the per-probe list: what a
   * round and a status summary need. Counts into two reused lists, so it allocates only the answer.
   */
  tallies(svc: ServiceConfig, now: number): RoundVerdicts {
    this.advance(now);
    const index = this.#serviceIndex.get(svc.name);
    const fill = (endpoint: Endpoint, into: CountedVote[]): CountedVote[] => {
      const base = index === undefined ? -1 : (index * 2 + (endpoint === "primary" ? 0 : 1)) * this.#width;
      into.forEach((counted, probe) => {
        counted.vote = base < 0 ? "abstain" : (VOTES[this.#counted[base + probe] as number] as Vote);
      });
      return into;
    };
    const quorum = this.#config.probes.quorum;
    return {
      primary: verdictOf(fill("primary", this.#scratch.primary), quorum),
      secondary: verdictOf(fill("secondary", this.#scratch.secondary), quorum),
    };
  }

  /** One probe's track of one endpoint, if it reported one. */
  track(probe: string, service: string, endpoint: Endpoint): EndpointTrack | undefined {
    const slot = this.#slot(probe, service, endpoint);
    return slot === undefined ? undefined : this.#tracks[slot];
  }

  /** What is known of a probe (the stored row itself: callers copy before handing it out). */
  probe(id: string): ProbeRow | undefined {
    return this.#probes.get(id);
  }

  /** A service's place in the config (rounds record events in this order). */
  serviceOrder(name: string): number {
    return this.#serviceIndex.get(name) ?? Number.MAX_SAFE_INTEGER;
  }

  /** Tracks held, for measurements. */
  get size(): number {
    let n = 0;
    for (const track of this.#tracks) if (track) n++;
    return n;
  }

  #slot(probe: string, service: string, endpoint: Endpoint): number | undefined {
    const p = this.#probeIndex.get(probe);
    const s = this.#serviceIndex.get(service);
    if (p === undefined || s === undefined) return undefined;
    return (s * 2 + (endpoint === "primary" ? 0 : 1)) * this.#width + p;
  }

  #probeCountsAt(probe: number, now: number): boolean {
    const member = this.#config.probes.members[probe];
    const row = member ? this.#probes.get(member.id) : undefined;
    const seen = { lastSeen: row?.lastSeen ?? null, healthy: row?.healthy ?? true };
    return !isSilent(seen, { now, intervalMs: this.#config.probes.interval }) && seen.healthy;
  }

  #recountAll(): void {
    for (let probe = 0; probe < this.#width; probe++)
      this.#probeCounts[probe] = this.#probeCountsAt(probe, this.#at) ? 1 : 0;
    for (let slot = 0; slot < this.#tracks.length; slot++) {
      this.#recount(slot);
      this.#queue(slot);
    }
    this.markAllDirty();
  }

  /** Counts one track's vote again at `#at`; a change marks its service dirty. */
  #recount(slot: number): void {
    const probe = slot % this.#width;
    const track = this.#tracks[slot];
    let vote = ABSTAIN;
    if (track && this.#probeCounts[probe] === 1) {
      // The probe itself counts (checked above): only the track's own staleness and vote remain.
      const counted = effectiveVote(
        track,
        { lastSeen: this.#at, healthy: true },
        {
          now: this.#at,
          intervalMs: this.#config.probes.interval,
        },
      );
      vote = counted === "up" ? UP : counted === "down" ? DOWN : ABSTAIN;
    }
    if (this.#counted[slot] === vote) return;
    this.#counted[slot] = vote;
    this.#dirty.add(Math.floor(slot / (2 * this.#width)));
  }

  /** Puts a track in the staleness heap unless it is there already or can never go stale. */
  #queue(slot: number): void {
    if (this.#queued[slot] === 1) return;
    const seenAt = this.#tracks[slot]?.seenAt;
    if (typeof seenAt !== "number" || this.#at - seenAt > this.#staleMs) return; // stale already: stays so
    this.#queued[slot] = 1;
    this.#stale.push(slot, seenAt);
  }
}

/** A min-heap of tracks by the `seenAt` they were queued with (the earliest goes stale first). */
class StaleHeap {
  #slots: number[] = [];
  #seen: number[] = [];

  push(slot: number, seenAt: number): void {
    this.#slots.push(slot);
    this.#seen.push(seenAt);
    let i = this.#slots.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((this.#seen[parent] as number) <= seenAt) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  peek(): { slot: number; seenAt: number } | undefined {
    if (this.#slots.length === 0) return undefined;
    return { slot: this.#slots[0] as number, seenAt: this.#seen[0] as number };
  }

  pop(): void {
    const last = this.#slots.length - 1;
    this.#swap(0, last);
    this.#slots.pop();
    this.#seen.pop();
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < last && (this.#seen[left] as number) < (this.#seen[least] as number)) least = left;
      if (right < last && (this.#seen[right] as number) < (this.#seen[least] as number)) least = right;
      if (least === i) return;
      this.#swap(i, least);
      i = least;
    }
  }

  #swap(a: number, b: number): void {
    const slot = this.#slots[a] as number;
    this.#slots[a] = this.#slots[b] as number;
    this.#slots[b] = slot;
    const seen = this.#seen[a] as number;
    this.#seen[a] = this.#seen[b] as number;
    this.#seen[b] = seen;
  }
}
