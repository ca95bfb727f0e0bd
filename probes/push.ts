/**
 * The push-mode probe loop (VPS, Fly.io): fetch assignments, check, push a signed report to every
 * coordinator, every interval. A coordinator that is down never stops it; problems are logged once.
 */
import type { Clock } from "../shared/clock.ts";
import type { Logger } from "../shared/log.ts";
import {
  type Assignments,
  assignmentsSchema,
  type CheckResult,
  FEATURES_HEADER,
} from "../shared/protocol.ts";
import { signedHeaders } from "../shared/signing.ts";
import { EndpointChecker } from "./confirm.ts";
import { CheckSlots, type ProbeLimits, SERVER_LIMITS } from "./limits.ts";
import { signReport, splitReport } from "./report.ts";

/** What a push probe runs with. */
export interface PushProbeOptions {
  id: string;
  secret: string;
  /** Coordinator base URLs; reports go to each, assignments come from the first that answers. */
  coordinators: readonly string[];
  fetch: typeof fetch;
  clock: Clock;
  log: Logger;
  /** How long to wait for a coordinator (default 10 s). */
  requestTimeoutMs?: number;
  /** The runtime's limits (default `SERVER_LIMITS`); one pool for the probe's lifetime. */
  limits?: ProbeLimits;
  /** Fast confirmation as the coordinator assigns it (default true); false for a one-shot backstop. */
  confirm?: boolean;
}

/** One push-mode probe. */
export class PushProbe {
  readonly #options: PushProbeOptions;
  #assignments: Assignments | null = null;
  #cancel: (() => void) | null = null;
  #problems = new Map<string, string>();
  #stopped = false;
  readonly #checker: EndpointChecker;
  #rounding = 0;
  /** Rounds completed, for tests and logs. */
  rounds = 0;

  constructor(options: PushProbeOptions) {
    this.#options = options;
    const slots = new CheckSlots(options.limits ?? SERVER_LIMITS);
    // Where subrequests are capped (a Workers backstop), the assignments and the pushes come first.
    slots.reserve(1 + options.coordinators.length);
    this.#checker = new EndpointChecker({
      fetch: options.fetch,
      clock: options.clock,
      slots,
      send: (results, healthy) => this.#push(results, healthy),
      ...(options.confirm === false ? { confirm: false } : {}),
    });
  }

  /** Starts the loop: a round now, then one every assigned interval. */
  start(): void {
    this.#stopped = false;
    const loop = async () => {
      const started = this.#options.clock.now();
      await this.round();
      if (this.#stopped) return;
      const interval = this.#assignments?.intervalMs ?? 10_000;
      this.#cancel = this.#options.clock.setTimer(
        () => void loop(),
        Math.max(0, interval - (this.#options.clock.now() - started)),
      );
    };
    void loop();
  }

  /** Stops after the round in flight. */
  stop(): void {
    this.#stopped = true;
    this.#cancel?.();
    this.#checker.stop();
  }

  /** One round: refresh assignments, run checks, push the report everywhere. Never throws. */
  async round(): Promise<void> {
    this.#rounding++;
    try {
      await this.#refreshAssignments();
      const assignments = this.#assignments;
      if (!assignments) return;
      const { healthy, results } = await this.#checker.round(assignments);
      await this.#push(results, healthy);
      this.rounds++;
    } catch (error) {
      this.#settle("round", errorText(error));
    } finally {
      this.#rounding--;
    }
  }

  /** Rounds and confirmations in progress (for simulations that must not move time meanwhile). */
  get busy(): number {
    return this.#rounding + this.#checker.busy;
  }

  /** Confirmation checks run so far: what fast confirmation cost. */
  get confirmations(): number {
    return this.#checker.confirmations;
  }

  /**
   * Signs a report of `results` and pushes it to every coordinator; a round larger than the body limit
   * goes as several reports, each fitting and signed on its own. Problems are logged, never thrown.
   */
  async #push(results: CheckResult[], healthy: boolean): Promise<void> {
    const report = {
      id: crypto.randomUUID(),
      probe: this.#options.id,
      sentAt: new Date(this.#options.clock.now()).toISOString(),
      healthy,
      results,
    };
    const signed = await Promise.all(
      splitReport(report).map((part) => signReport(part, this.#options.secret, this.#options.clock.now())),
    );
    await Promise.all(this.#options.coordinators.map((base) => this.#pushTo(base, signed)));
  }

  /** Posts a round's signed parts to one coordinator in order; one refused part does not stop the rest. */
  async #pushTo(base: string, parts: { body: string; headers: Record<string, string> }[]): Promise<void> {
    let problem: string | null = null;
    for (const part of parts) {
      try {
        const response = await this.#request(`${base}/v1/reports`, {
          method: "POST",
          body: part.body,
          headers: part.headers,
        });
        if (!response.ok) problem ??= `HTTP ${response.status} ${response.statusText}`;
      } catch (error) {
        problem ??= errorText(error);
      }
    }
    this.#settle(`push ${base}`, problem);
  }

  async #refreshAssignments(): Promise<void> {
    for (const base of this.#options.coordinators) {
      const where = `assignments ${base}`;
      try {
        const headers = await signedHeaders(
          this.#options.id,
          this.#options.secret,
          "",
          this.#options.clock.now(),
        );
        const response = await this.#request(
          `${base}/v1/probes/${encodeURIComponent(this.#options.id)}/assignments`,
          { headers: { ...headers, [FEATURES_HEADER]: "confirm,skipped" } },
        );
        if (!response.ok) {
          this.#settle(where, `HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`);
          continue;
        }
        const parsed = assignmentsSchema.safeParse(await response.json());
        if (!parsed.success) {
          this.#settle(where, `Invalid assignments: ${parsed.error.issues[0]?.message ?? "schema mismatch"}`);
          continue;
        }
        this.#settle(where, null);
        this.#assignments = parsed.data;
        return;
      } catch (error) {
        this.#settle(where, errorText(error));
      }
    }
    if (!this.#assignments)
      this.#options.log.warn("No assignments yet: no coordinator answered; retrying next round");
  }

  async #request(url: string, init: RequestInit): Promise<Response> {
    const controller = new AbortController();
    const cancel = this.#options.clock.setTimer(
      () => controller.abort(),
      this.#options.requestTimeoutMs ?? 10_000,
    );
    try {
      return await this.#options.fetch(url, { ...init, signal: controller.signal });
    } finally {
      cancel();
    }
  }

  /** Logs a problem once when it starts and once when it clears. */
  #settle(where: string, problem: string | null): void {
    const before = this.#problems.get(where);
    if (problem === null) {
      if (before !== undefined) this.#options.log.info(`Recovered: ${where}`);
      this.#problems.delete(where);
    } else if (before !== problem) {
      this.#options.log.warn(`Problem: ${where}: ${problem}`);
      this.#problems.set(where, problem);
    }
  }
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    const code = cause && typeof cause === "object" && "code" in cause ? ` (${String(cause.code)})` : "";
    return `${error.name === "AbortError" ? "Timed out" : error.message}${code}`;
  }
  return String(error);
}
