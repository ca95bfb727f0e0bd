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

/** The longest `Retry-After` a probe waits out within a round; beyond it the round's report to that coordinator is dropped. */
export const MAX_BUSY_WAIT_MS = 30_000;
/** Sends of one report to a busy coordinator (429) within a round. */
const BUSY_ATTEMPTS = 3;

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
  /** Per coordinator: no report before this time (its last `Retry-After`). */
  readonly #notBefore = new Map<string, number>();
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
      const refused = await this.#pushPart(base, part);
      problem ??= refused;
    }
    this.#settle(`push ${base}`, problem);
  }

  /**
   * Posts one signed part; a busy coordinator (429) is left alone for its `Retry-After`, then sent
   * the same report again, signed anew (a refusal changes nothing, so its id is still unseen). A
   * wait longer than `MAX_BUSY_WAIT_MS` drops this round's report; the next round's waits too.
   */
  async #pushPart(
    base: string,
    part: { body: string; headers: Record<string, string> },
  ): Promise<string | null> {
    for (let attempt = 1; ; attempt++) {
      const wait = (this.#notBefore.get(base) ?? 0) - this.#options.clock.now();
      if (wait > MAX_BUSY_WAIT_MS || (wait > 0 && attempt > BUSY_ATTEMPTS)) {
        return `Coordinator busy: next report in ${Math.ceil(wait / 1000)} s as Retry-After asks`;
      }
      if (wait > 0) await new Promise<void>((resolve) => this.#options.clock.setTimer(resolve, wait));
      if (this.#stopped && attempt > 1) return "Stopped while the coordinator was busy";
      try {
        const headers =
          attempt === 1
            ? part.headers
            : {
                ...part.headers,
                ...(await signedHeaders(
                  this.#options.id,
                  this.#options.secret,
                  part.body,
                  this.#options.clock.now(),
                )),
              };
        const response = await this.#request(`${base}/v1/reports`, {
          method: "POST",
          body: part.body,
          headers,
        });
        if (response.status !== 429) {
          return response.ok ? null : `HTTP ${response.status} ${response.statusText}`;
        }
        await response.body?.cancel();
        const after = retryAfterMs(response.headers.get("retry-after"), this.#options.clock.now());
        this.#notBefore.set(base, this.#options.clock.now() + after);
      } catch (error) {
        return errorText(error);
      }
    }
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

/** A `Retry-After` (seconds or an HTTP date) in ms; one second when absent or unreadable. */
function retryAfterMs(value: string | null, nowMs: number): number {
  const text = value?.trim() ?? "";
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? 1000 : Math.max(0, at - nowMs);
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    const code = cause && typeof cause === "object" && "code" in cause ? ` (${String(cause.code)})` : "";
    return `${error.name === "AbortError" ? "Timed out" : error.message}${code}`;
  }
  return String(error);
}
