/**
 * Fast confirmation on a long-lived probe (CONTRACT §3): after a failed check, the same endpoint is
 * checked again `confirmIntervalMs` after that check ended, until `failAfter` failures in a row (the
 * vote goes down) or a success; each confirming result is sent at once. Never two checks of one
 * endpoint in flight, at most `maxConfirming` endpoints confirming, and every check takes its slot
 * from the probe's one pool. Recovery is not sped up (fail back slow, see docs/quorum.md). Web APIs only.
 */
import type { Clock } from "../shared/clock.ts";
import type { Assignments, CheckResult, HttpCheck } from "../shared/protocol.ts";
import { canariesHealthy, runCheck } from "./checks.ts";
import type { CheckSlots } from "./limits.ts";
import { ownNetwork, reportable } from "./report.ts";

/** What the checker runs with; `send` delivers results outside a round's report (never throws). */
export interface CheckerOptions {
  fetch: typeof fetch;
  clock: Clock;
  slots: CheckSlots;
  send: (results: CheckResult[], healthy: boolean) => Promise<void>;
  /** False for a one-shot round (a serverless backstop): no timers outlive it. Default true. */
  confirm?: boolean;
}

interface EndpointState {
  check: HttpCheck;
  /** Failed checks in a row, as this probe saw them. */
  fails: number;
  inFlight: boolean;
  /** Cancels the pending confirmation, when one is scheduled. */
  cancel: (() => void) | null;
}

const keyOf = (c: { service: string; endpoint: string }) => `${c.service}|${c.endpoint}`;

/** Runs a push probe's checks: whole rounds, and the confirmations that follow a failure. */
export class EndpointChecker {
  readonly #options: CheckerOptions;
  readonly #endpoints = new Map<string, EndpointState>();
  #assignments: Assignments | null = null;
  #canaries: { at: number; healthy: Promise<boolean> } | null = null;
  readonly #confirming = new Set<EndpointState>();
  #busy = 0;
  #stopped = false;
  /** Confirmation checks run so far (the cost of fast confirmation). */
  confirmations = 0;

  constructor(options: CheckerOptions) {
    this.#options = options;
  }

  /** Rounds and confirmations in progress, sends included. */
  get busy(): number {
    return this.#busy;
  }

  /** Endpoints confirming now (between a first failure and the end of its confirmation). */
  get confirming(): number {
    return this.#confirming.size;
  }

  /**
   * Runs every assigned check whose endpoint has none in flight (a confirmation in flight stands in
   * for it). Returns the round's verdict on the probe's own network and the results for its report;
   * results that started a confirmation were already sent, so they are not among them.
   */
  async round(assignments: Assignments): Promise<{ healthy: boolean; results: CheckResult[] }> {
    this.#busy++;
    this.#stopped = false;
    try {
      this.#assign(assignments);
      const healthy = this.#freshCanaries(true);
      const runs = assignments.checks.map(async (check) => {
        const state = this.#endpoints.get(keyOf(check));
        if (!state || state.inFlight) return null;
        const result = await this.#check(state);
        const ok = await healthy;
        // A failure that starts a confirmation goes out now, so its confirmations arrive after it.
        if (this.#afterCheck(state, result, ok)) {
          await this.#send([result], ok);
          return null;
        }
        return ok ? result : ownNetwork(result);
      });
      const results = (await Promise.all(runs)).filter((r): r is CheckResult => r !== null);
      return { healthy: await healthy, results: reportable(results, this.#sendsSkipped()) };
    } finally {
      this.#busy--;
    }
  }

  /** Cancels every scheduled confirmation; checks in flight finish and are sent. */
  stop(): void {
    this.#stopped = true;
    for (const state of this.#endpoints.values()) {
      state.cancel?.();
      state.cancel = null;
    }
    this.#confirming.clear();
  }

  #assign(assignments: Assignments): void {
    this.#assignments = assignments;
    const keys = new Set(assignments.checks.map(keyOf));
    for (const [key, state] of this.#endpoints) {
      if (keys.has(key)) continue;
      state.cancel?.();
      this.#confirming.delete(state);
      this.#endpoints.delete(key);
    }
    for (const check of assignments.checks) {
      const state = this.#endpoints.get(keyOf(check));
      if (state) {
        state.check = check;
        // The round checks it now: a pending confirmation would be a second check in a row.
        state.cancel?.();
        state.cancel = null;
      } else {
        this.#endpoints.set(keyOf(check), { check, fails: 0, inFlight: false, cancel: null });
      }
    }
  }

  async #check(state: EndpointState): Promise<CheckResult> {
    state.inFlight = true;
    try {
      return await runCheck(state.check, this.#options);
    } finally {
      state.inFlight = false;
    }
  }

  /** Updates the streak after a check ended and schedules the next confirmation; true when one was. */
  #afterCheck(state: EndpointState, result: CheckResult, healthy: boolean): boolean {
    state.cancel?.();
    state.cancel = null;
    if (result.skipped === undefined) state.fails = result.ok ? 0 : state.fails + 1;
    const settings = this.#settings();
    const failAfter = state.check.failAfter;
    const wanted =
      result.skipped === undefined &&
      !result.ok &&
      healthy &&
      !this.#stopped &&
      settings.confirmIntervalMs > 0 &&
      failAfter !== undefined &&
      state.fails < failAfter &&
      (this.#confirming.has(state) || this.#confirming.size < settings.maxConfirming);
    if (!wanted) {
      this.#confirming.delete(state);
      return false;
    }
    this.#confirming.add(state);
    state.cancel = this.#options.clock.setTimer(() => {
      state.cancel = null;
      void this.#confirm(state);
    }, settings.confirmIntervalMs);
    return true;
  }

  async #confirm(state: EndpointState): Promise<void> {
    if (state.inFlight || this.#stopped) return;
    this.#busy++;
    try {
      this.confirmations++;
      const [result, healthy] = await Promise.all([this.#check(state), this.#freshCanaries(false)]);
      this.#afterCheck(state, result, healthy);
      const sent = reportable([healthy ? result : ownNetwork(result)], this.#sendsSkipped());
      if (sent.length > 0) await this.#send(sent, healthy);
    } finally {
      this.#busy--;
    }
  }

  /** The canaries' verdict: a round always asks afresh; confirmations share one per confirm interval. */
  #freshCanaries(force: boolean): Promise<boolean> {
    const now = this.#options.clock.now();
    const cached = this.#canaries;
    if (!force && cached && now - cached.at < this.#settings().confirmIntervalMs) return cached.healthy;
    const healthy = canariesHealthy(this.#assignments?.canaries ?? [], this.#options);
    this.#canaries = { at: now, healthy };
    return healthy;
  }

  #settings(): { confirmIntervalMs: number; maxConfirming: number } {
    return {
      confirmIntervalMs: this.#options.confirm === false ? 0 : (this.#assignments?.confirmIntervalMs ?? 0),
      maxConfirming: this.#assignments?.maxConfirming ?? 1,
    };
  }

  /** A coordinator that serves the confirmation keys also understands not-checked results. */
  #sendsSkipped(): boolean {
    return this.#assignments?.confirmIntervalMs !== undefined;
  }

  async #send(results: CheckResult[], healthy: boolean): Promise<void> {
    try {
      await this.#options.send(results, healthy);
    } catch {
      // `send` reports its own problems; a confirmation never stops the probe.
    }
  }
}
