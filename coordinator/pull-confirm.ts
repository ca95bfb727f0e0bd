/**
 * Fast confirmation for pull-mode probes, which keep no timers of their own (a Worker lives for one
 * request): the coordinator asks them. When any probe reports the first failure of an endpoint, every
 * pull member that has not seen it fail is asked at once for a run of that endpoint alone; a pull
 * member whose streak on an endpoint is short of `failAfter` is asked again `confirmInterval` after
 * its previous check of it ended. At most `maxConfirming` endpoints per member; one run per member
 * in flight (the pull loop's guard), so never two checks of one endpoint at once.
 */
import type { Clock } from "../shared/clock.ts";
import type { Config, ProbeMember } from "../shared/config-schema.ts";
import type { Report } from "../shared/protocol.ts";
import type { EndpointTrack } from "../shared/quorum.ts";
import { confirmSettings } from "./confirm.ts";

/** What the scheduler needs from the coordinator and the pull loop. */
export interface PullConfirmOptions {
  config: Config;
  clock: Clock;
  members: readonly ProbeMember[];
  track: (probe: string, service: string, endpoint: "primary" | "secondary") => EndpointTrack | undefined;
  /** Whether a run of this member is in flight; the scheduler asks again once `settled(member)` is called. */
  busy: (member: string) => boolean;
  /** Runs the member's checks of these endpoints (`service|endpoint` keys) now. */
  pull: (member: ProbeMember, keys: Set<string>) => void;
}

interface MemberConfirms {
  /** When each confirming endpoint is due (ms). */
  due: Map<string, number>;
  cancel: (() => void) | null;
}

/** Schedules the confirming runs of pull members. */
export class PullConfirmations {
  readonly #options: PullConfirmOptions;
  readonly #byMember = new Map<string, MemberConfirms>();
  readonly #failAfter: Map<string, number>;
  /** Confirming runs asked for so far (the cost of fast confirmation in pull mode). */
  runs = 0;

  constructor(options: PullConfirmOptions) {
    this.#options = options;
    this.#failAfter = new Map(options.config.services.map((svc) => [svc.name, svc.failAfter]));
  }

  /** Looks at a report the coordinator just folded and schedules the confirmations it calls for. */
  notice(report: Report): void {
    const { confirmIntervalMs } = confirmSettings(this.#options.config.probes);
    if (confirmIntervalMs <= 0 || this.#options.members.length === 0) return;
    const reporter = this.#options.members.find((m) => m.id === report.probe);
    for (const result of report.results) {
      const failAfter = this.#failAfter.get(result.service);
      if (result.skipped !== undefined || failAfter === undefined) continue;
      const key = `${result.service}|${result.endpoint}`;
      const fails = this.#options.track(report.probe, result.service, result.endpoint)?.fails ?? 0;
      const failing = report.healthy && !result.ok && fails > 0;
      if (failing && fails === 1) this.#askOthers(report.probe, key, result);
      if (!reporter) continue;
      if (failing && fails < failAfter) {
        const ended = Date.parse(result.checkedAt) + (result.latencyMs ?? 0);
        this.#want(reporter, key, ended + confirmIntervalMs);
      } else {
        this.#drop(reporter.id, key);
      }
    }
  }

  /** Called by the pull loop when a member's run ended: a confirmation that waited for it may go now. */
  settled(member: ProbeMember): void {
    this.#arm(member);
  }

  /** Cancels every scheduled confirmation. */
  stop(): void {
    for (const state of this.#byMember.values()) state.cancel?.();
    this.#byMember.clear();
  }

  /** A first failure: the pull members that have not seen this endpoint fail check it now. */
  #askOthers(reporter: string, key: string, result: { service: string; endpoint: "primary" | "secondary" }) {
    for (const member of this.#options.members) {
      if (member.id === reporter || this.#byMember.get(member.id)?.due.has(key)) continue;
      const fails = this.#options.track(member.id, result.service, result.endpoint)?.fails ?? 0;
      if (fails === 0) this.#want(member, key, this.#options.clock.now());
    }
  }

  #want(member: ProbeMember, key: string, dueAt: number): void {
    const state = this.#byMember.get(member.id) ?? { due: new Map<string, number>(), cancel: null };
    const { maxConfirming } = confirmSettings(this.#options.config.probes);
    if (!state.due.has(key) && state.due.size >= maxConfirming) return;
    state.due.set(key, dueAt);
    this.#byMember.set(member.id, state);
    this.#arm(member);
  }

  #drop(member: string, key: string): void {
    this.#byMember.get(member)?.due.delete(key);
  }

  /** Sets the member's timer for its earliest due endpoint (none while one of its runs is in flight). */
  #arm(member: ProbeMember): void {
    const state = this.#byMember.get(member.id);
    if (!state) return;
    state.cancel?.();
    state.cancel = null;
    if (state.due.size === 0 || this.#options.busy(member.id)) return;
    const now = this.#options.clock.now();
    const next = Math.min(...state.due.values());
    state.cancel = this.#options.clock.setTimer(() => this.#fire(member), Math.max(0, next - now));
  }

  #fire(member: ProbeMember): void {
    const state = this.#byMember.get(member.id);
    if (!state) return;
    state.cancel = null;
    if (this.#options.busy(member.id)) return; // `settled` re-arms when that run ends
    const now = this.#options.clock.now();
    const keys = new Set([...state.due].filter(([, at]) => at <= now).map(([key]) => key));
    for (const key of keys) state.due.delete(key);
    if (keys.size > 0) {
      this.runs++;
      this.#options.pull(member, keys);
    }
    this.#arm(member);
  }
}
