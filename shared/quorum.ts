/** Per-probe votes and quorum math (CONTRACT §4): pure functions, time passed in. */
import type { Endpoint } from "./protocol.ts";

/** A probe's vote on one endpoint. */
export type Vote = "up" | "down" | "abstain";
/** The quorum's verdict on one endpoint. */
export type Verdict = "up" | "down" | "unknown";
/** How many configured probes vote each way. */
export interface Tally {
  up: number;
  down: number;
  abstain: number;
}

/** What one probe has seen of one endpoint: streak counters and its standing vote. */
export interface EndpointTrack {
  fails: number;
  oks: number;
  /** The standing vote; `null` until the first streak reaches its threshold. */
  vote: "up" | "down" | null;
  /**
   * When the coordinator folded this probe's latest result for this endpoint (ms, the coordinator's
   * clock): the vote abstains once it is older than 3 intervals. `null` when not known.
   */
  seenAt: number | null;
  last?: { ok: boolean; status?: number; latencyMs?: number; error?: string; checkedAt: string };
}

/** A fresh track, before any result. */
export function emptyTrack(): EndpointTrack {
  return { fails: 0, oks: 0, vote: null, seenAt: null };
}

/**
 * Folds one check result, received at `seenAt`, into a track: `down` after `failAfter` failures in a
 * row, `up` after `recoverAfter` successes. The streaks stop at their thresholds (a longer streak
 * votes the same), so a track whose vote holds keeps the same counters from one report to the next.
 */
export function applyResult(
  track: EndpointTrack,
  result: NonNullable<EndpointTrack["last"]>,
  thresholds: { failAfter: number; recoverAfter: number },
  seenAt: number,
): EndpointTrack {
  const fails = result.ok ? 0 : Math.min(track.fails + 1, thresholds.failAfter);
  const oks = result.ok ? Math.min(track.oks + 1, thresholds.recoverAfter) : 0;
  let vote = track.vote;
  if (fails >= thresholds.failAfter) vote = "down";
  else if (oks >= thresholds.recoverAfter) vote = "up";
  return { fails, oks, vote, seenAt, last: result };
}

/**
 * Whether two tracks stand the same: streaks, vote and the latest result's outcome (not its time,
 * latency or `seenAt`, which move with every report).
 */
export function sameStanding(a: EndpointTrack, b: EndpointTrack): boolean {
  return (
    a.fails === b.fails &&
    a.oks === b.oks &&
    a.vote === b.vote &&
    a.last?.ok === b.last?.ok &&
    a.last?.status === b.last?.status &&
    a.last?.error === b.last?.error
  );
}

/** Whether a result checked at `checkedAt` is older than the one the track already folded (it is then ignored). */
export function olderThanFolded(track: EndpointTrack | undefined, checkedAt: string): boolean {
  if (!track?.last) return false;
  return Date.parse(checkedAt) < Date.parse(track.last.checkedAt);
}

/** What identifies a result's endpoint and its time, for `newestPerEndpoint`. */
interface TimedResult {
  service: string;
  endpoint: Endpoint;
  checkedAt: string;
}

/**
 * One result per service endpoint of a report, with its `checkedAt` parsed (ms): the newest by `checkedAt` (on a tie, the later in the
 * list), in the order each endpoint first appears. A report is one observation per endpoint, so a
 * probe cannot reach `failAfter` (or `recoverAfter`) with one report.
 */
export function newestPerEndpointTimed<T extends TimedResult>(
  results: readonly T[],
): { result: T; at: number }[] {
  const newest = new Map<string, { result: T; at: number }>();
  for (const result of results) {
    const key = `${result.service}\u0000${result.endpoint}`;
    const at = Date.parse(result.checkedAt);
    const kept = newest.get(key);
    if (!kept || !(at < kept.at)) newest.set(key, { result, at });
  }
  return [...newest.values()];
}

/** `newestPerEndpointTimed` without the parsed times. */
export function newestPerEndpoint<T extends TimedResult>(results: readonly T[]): T[] {
  return newestPerEndpointTimed(results).map((entry) => entry.result);
}

/** What the coordinator knows of a probe itself. */
export interface ProbeSeen {
  /** When its latest accepted report arrived (ms), or null when it never reported. */
  lastSeen: number | null;
  /** Its own canary checks passed in its latest report. */
  healthy: boolean;
}

/** A probe is stale when its latest report is older than this many intervals. */
export const STALE_INTERVALS = 3;

/** Whether a probe counts as silent at `now`: never reported, or nothing for more than 3 intervals. */
export function isSilent(probe: ProbeSeen, options: { now: number; intervalMs: number }): boolean {
  return probe.lastSeen === null || options.now - probe.lastSeen > STALE_INTERVALS * options.intervalMs;
}

/**
 * The vote that counts: the standing vote, or `abstain` for a silent, self-unhealthy or undecided
 * probe, and for a probe whose latest result for this endpoint is older than 3 intervals (it keeps
 * reporting, but not this endpoint).
 */
export function effectiveVote(
  track: EndpointTrack | undefined,
  probe: ProbeSeen,
  options: { now: number; intervalMs: number },
): Vote {
  if (isSilent(probe, options) || !probe.healthy || !track) return "abstain";
  // A row stored before `seenAt` existed, and not migrated, has none: no fresh result is known.
  if (typeof track.seenAt !== "number") return "abstain";
  if (options.now - track.seenAt > STALE_INTERVALS * options.intervalMs) return "abstain";
  return track.vote ?? "abstain";
}

/** One configured probe's counted vote, with the edge provider it runs on. */
export interface CountedVote {
  probe: string;
  provider: string;
  vote: Vote;
}

/** Counts votes: each configured probe once. */
export function tally(votes: readonly CountedVote[]): Tally {
  const out: Tally = { up: 0, down: 0, abstain: 0 };
  for (const { vote } of votes) out[vote]++;
  return out;
}

/** Verdict when a side has more than half of `total`. */
function majorityOf(t: Tally, total: number): Verdict {
  if (t.down * 2 > total) return "down";
  if (t.up * 2 > total) return "up";
  return "unknown";
}

/**
 * The quorum's verdict over the votes of *all configured* probes: `majority` needs more than half of
 * them; `providers` first takes a majority inside each edge provider, then a majority of providers.
 */
export function verdictOf(
  votes: readonly CountedVote[],
  quorum: "majority" | "providers",
): { verdict: Verdict; votes: Tally } {
  const counted = tally(votes);
  if (quorum === "majority") return { verdict: majorityOf(counted, votes.length), votes: counted };
  const byProvider = new Map<string, CountedVote[]>();
  for (const vote of votes) byProvider.set(vote.provider, [...(byProvider.get(vote.provider) ?? []), vote]);
  const providerVotes: CountedVote[] = [...byProvider].map(([provider, group]) => {
    const inner = majorityOf(tally(group), group.length);
    return { probe: provider, provider, vote: inner === "unknown" ? "abstain" : inner };
  });
  return { verdict: majorityOf(tally(providerVotes), providerVotes.length), votes: counted };
}

/** The other path. */
export function otherEndpoint(endpoint: Endpoint): Endpoint {
  return endpoint === "primary" ? "secondary" : "primary";
}
