/**
 * The coordinator's side of pull mode (CONTRACT §5): every interval, a signed `POST {url}/v1/run` to
 * each pull-mode member, concurrently and with a timeout; a verified answer is accepted like a pushed
 * report. No answer or a bad answer leaves the probe silent (it abstains after 3 intervals), never "down".
 */
import { describeFetchError } from "../probes/checks.ts";
import type { Clock } from "../shared/clock.ts";
import type { ProbeMember } from "../shared/config-schema.ts";
import type { Logger } from "../shared/log.ts";
import {
  FEATURES_HEADER,
  MAX_BODY_BYTES,
  type Report,
  type RunRequest,
  reportSchema,
} from "../shared/protocol.ts";
import {
  PROBE_HEADER,
  SIGNATURE_HEADER,
  signedHeaders,
  TIMESTAMP_HEADER,
  verifySignature,
} from "../shared/signing.ts";
import type { Coordinator } from "./coordinator.ts";
import { PullConfirmations } from "./pull-confirm.ts";

/** What the pull loop runs with. */
export interface PullLoopOptions {
  coordinator: Coordinator;
  secretFor: (probeId: string) => string | undefined;
  fetch: typeof fetch;
  clock: Clock;
  log: Logger;
  /**
   * Where a verified answer goes: the app's own `POST /v1/reports` (in process), so pulled reports
   * count in metrics and the status page exactly like pushed ones. Without it, `acceptReport` directly.
   */
  ingest?: (request: Request) => Promise<Response>;
}

/** The outcome of one pull from one member: accepted, or why its answer did not count. */
export type PullOutcome =
  | { probe: string; ok: true; ms: number; reportId: string }
  | { probe: string; ok: false; ms: number; reason: string };

/** A pull that did not yield an accepted report; the probe stays silent until one does. */
export class PullError extends Error {
  readonly retryable = true;
  override readonly name = "PullError";
}

/** Pulls reports from the pull-mode members of the coordinator's config. */
export class PullLoop {
  readonly #options: PullLoopOptions;
  readonly #members: ProbeMember[];
  readonly #inFlight = new Set<string>();
  readonly #problems = new Map<string, string>();
  #cancel: (() => void) | null = null;
  readonly #confirms: PullConfirmations;
  /** How long the latest complete round took (ms), for logs and benchmarks. */
  lastRoundMs: number | null = null;

  constructor(options: PullLoopOptions) {
    this.#options = options;
    this.#members = options.coordinator.config.probes.members.filter((m) => m.mode === "pull");
    this.#confirms = new PullConfirmations({
      config: options.coordinator.config,
      clock: options.clock,
      members: this.#members,
      track: (probe, service, endpoint) => options.coordinator.track(probe, service, endpoint),
      busy: (member) => this.#inFlight.has(member),
      pull: (member, keys) => void this.#pullGuarded(member, keys),
    });
  }

  /**
   * Tells the loop about a report the coordinator accepted (pushed or pulled), so it can ask pull
   * members to confirm a suspected failure at once (fast confirmation). The runtime wires it to the
   * app's `onAccepted`; without `ingest` the loop calls it itself for what it pulls.
   */
  noticeReport(report: Report): void {
    this.#confirms.notice(report);
  }

  /** Confirming runs asked of pull members so far. */
  get confirmRuns(): number {
    return this.#confirms.runs;
  }

  /** The members this loop pulls from. */
  get members(): readonly ProbeMember[] {
    return this.#members;
  }

  /** Starts pulling: a round now, then one every probe interval. Does nothing without pull members. */
  start(): void {
    if (this.#members.length === 0 || this.#cancel) return;
    const interval = this.#options.coordinator.config.probes.interval;
    const tick = () => {
      this.#cancel = this.#options.clock.setTimer(tick, interval);
      void this.round();
    };
    tick();
  }

  /** Stops scheduling rounds; requests in flight finish on their own timeout. */
  stop(): void {
    this.#cancel?.();
    this.#cancel = null;
    this.#confirms.stop();
  }

  /** One round: pulls every member not still busy with the previous round, concurrently. Never throws. */
  async round(): Promise<PullOutcome[]> {
    const started = this.#options.clock.now();
    const due = this.#members.filter((m) => !this.#inFlight.has(m.id));
    const outcomes = await Promise.all(due.map((member) => this.#pullGuarded(member)));
    this.lastRoundMs = this.#options.clock.now() - started;
    return outcomes;
  }

  async #pullGuarded(member: ProbeMember, only?: Set<string>): Promise<PullOutcome> {
    this.#inFlight.add(member.id);
    const started = this.#options.clock.now();
    let outcome: PullOutcome;
    try {
      const reportId = await this.#pull(member, only);
      outcome = { probe: member.id, ok: true, ms: this.#options.clock.now() - started, reportId };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      outcome = { probe: member.id, ok: false, ms: this.#options.clock.now() - started, reason };
    } finally {
      this.#inFlight.delete(member.id);
      this.#confirms.settled(member);
    }
    this.#settle(member.id, outcome.ok ? null : outcome.reason);
    return outcome;
  }

  async #pull(member: ProbeMember, only?: Set<string>): Promise<string> {
    const { coordinator, clock } = this.#options;
    const secret = this.#options.secretFor(member.id);
    if (!member.url || secret === undefined)
      throw new PullError(`Cannot pull from probe "${member.id}": it has no url or secret`);
    const assignments = coordinator.assignments(member.id);
    // A confirming run checks only the suspected endpoints: few subrequests on a Worker.
    const checks = only
      ? assignments.checks.filter((c) => only.has(`${c.service}|${c.endpoint}`))
      : assignments.checks;
    const request: RunRequest = { ...assignments, checks, id: crypto.randomUUID() };
    const body = JSON.stringify(request);
    const headers = await signedHeaders(member.id, secret, body, clock.now());
    const url = `${member.url.replace(/\/+$/, "")}/v1/run`;
    const raw = await this.#exchange(url, body, {
      ...headers,
      "content-type": "application/json",
      [FEATURES_HEADER]: "skipped",
    });
    const check = await verifySignature(raw.headers, raw.text, {
      secretFor: (id) => (id === member.id ? secret : undefined),
      nowMs: clock.now(),
    });
    if (!check.ok) throw new PullError(`Refused the answer of "${url}": ${check.message}`);
    const report = parseReport(raw.text, url);
    if (report.probe !== member.id) {
      throw new PullError(
        `Refused the answer of "${url}": report names probe "${report.probe}", not "${member.id}"`,
      );
    }
    await this.#deliver(report, raw, url);
    return report.id;
  }

  /** Hands a verified answer on, signature headers and body untouched, as if the probe had pushed it. */
  async #deliver(report: Report, raw: { headers: Headers; text: string }, url: string): Promise<void> {
    const ingest = this.#options.ingest;
    if (!ingest) {
      await this.#options.coordinator.acceptReport(report);
      return this.noticeReport(report);
    }
    const headers: Record<string, string> = { "content-type": "application/json" };
    for (const name of [PROBE_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER])
      headers[name] = raw.headers.get(name) ?? "";
    const response = await ingest(
      new Request("http://coordinator.internal/v1/reports", { method: "POST", body: raw.text, headers }),
    );
    if (!response.ok) {
      const answer = (await response.json().catch(() => null)) as { error?: { message?: string } } | null; // ErrorBody or not JSON
      throw new PullError(
        `Refused the answer of "${url}": ${answer?.error?.message ?? `HTTP ${response.status}`}`,
      );
    }
  }

  /** Sends the run request and reads the whole answer within the pull timeout. */
  async #exchange(url: string, body: string, headers: Record<string, string>) {
    const timeoutMs = this.#options.coordinator.config.probes.pullTimeout ?? 10_000;
    const controller = new AbortController();
    const cancel = this.#options.clock.setTimer(() => controller.abort(), timeoutMs);
    try {
      const response = await this.#options.fetch(url, {
        method: "POST",
        body,
        headers,
        signal: controller.signal,
      });
      const declared = Number(response.headers.get("content-length") ?? "0");
      if (declared > MAX_BODY_BYTES) {
        await response.body?.cancel();
        throw new PullError(`Refused the answer of "${url}": body is larger than ${MAX_BODY_BYTES} bytes`);
      }
      const text = await response.text();
      if (!response.ok)
        throw new PullError(`Cannot pull from "${url}": HTTP ${response.status}: ${text.slice(0, 200)}`);
      if (text.length > MAX_BODY_BYTES)
        throw new PullError(`Refused the answer of "${url}": body is larger than ${MAX_BODY_BYTES} bytes`);
      return { headers: response.headers, text };
    } catch (error) {
      if (controller.signal.aborted)
        throw new PullError(`Cannot pull from "${url}": no answer within ${timeoutMs} ms`);
      if (error instanceof PullError) throw error;
      throw new PullError(`Cannot pull from "${url}": ${describeFetchError(error)}`);
    } finally {
      cancel();
    }
  }

  /** Logs a member's problem once when it starts and once when it clears. */
  #settle(probe: string, problem: string | null): void {
    const before = this.#problems.get(probe);
    if (problem === null) {
      if (before !== undefined) this.#options.log.info(`Pull from probe "${probe}" works again`);
      this.#problems.delete(probe);
    } else if (before !== problem) {
      this.#options.log.warn(`Probe "${probe}" stays silent, never "down": ${problem}`);
      this.#problems.set(probe, problem);
    }
  }
}

function parseReport(text: string, url: string): Report {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new PullError(`Refused the answer of "${url}": not valid JSON`);
  }
  const parsed = reportSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PullError(
      `Refused the answer of "${url}": report does not match the schema: ${issue?.path.join(".")} ${issue?.message}`,
    );
  }
  return parsed.data;
}
