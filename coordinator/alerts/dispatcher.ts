/**
 * The alert dispatcher: routes stored audit events to destinations, groups them per service
 * (`groupWait`), spaces a group's messages by `repeatInterval`, paces each destination (rate limit),
 * and delivers through a durable outbox with backoff that honours the platform's retry hints.
 * `enqueue` only buffers and sets timers: alerting never delays a decision or a DNS write.
 */
import { pagerTypes, type Severity, severities } from "../../shared/alert-config.ts";
import type { Clock } from "../../shared/clock.ts";
import type { Config } from "../../shared/config-schema.ts";
import type { Logger } from "../../shared/log.ts";
import type { AlertCounters } from "../metrics.ts";
import type { AuditEvent } from "../store/store.ts";
import { episodeChangesOf, episodeRuleRouted, pagerRouted } from "./episodes.ts";
import type { Route } from "./factory.ts";
import { type AlertMessage, atLeast, formatMessage, severityOf } from "./message.ts";
import { type LastMessage, lastMessageOf, type Outbox, type OutboxEntry } from "./outbox.ts";
import { type AlertSender, DeliveryError } from "./sender.ts";

/** Retry policy of deliveries. */
export interface RetryPolicy {
  baseMs: number;
  maxBackoffMs: number;
  /** Longest platform-requested wait that is honoured as asked (longer ones are capped to it). */
  maxRetryAfterMs: number;
  maxAttempts: number;
}

const DEFAULT_RETRY: RetryPolicy = {
  baseMs: 2000,
  maxBackoffMs: 300_000,
  maxRetryAfterMs: 3_600_000,
  maxAttempts: 20,
};

/** What the dispatcher runs with. */
export interface DispatcherOptions {
  config: Config;
  destinations: readonly { name: string; sender: AlertSender; route: Route }[];
  outbox: Outbox;
  /** Audit events after an event id, oldest first (the store's `listEvents`). */
  readEvents: (afterId: number) => Promise<AuditEvent[]>;
  clock: Clock;
  log: Logger;
  retry?: Partial<RetryPolicy>;
  random?: () => number;
  /** Counts each delivery and each failed attempt per destination (for `/metrics`). */
  counters?: AlertCounters;
}

interface Group {
  events: AuditEvent[];
  due: number;
  cancel: () => void;
}

interface Lane {
  name: string;
  sender: AlertSender;
  route: Route;
  /** A pager takes only episode openings and closings, each after `groupWait` alone. */
  pager: boolean;
  cursor: number | null;
  seen: number;
  groups: Map<string, Group>;
  lastCreated: Map<string, LastMessage>;
  sentAt: number[];
  cancelPump: (() => void) | null;
  pumping: boolean;
  work: Promise<unknown>;
}

/** Routes, groups, paces and delivers alerts. */
export class AlertDispatcher {
  readonly #o: DispatcherOptions;
  readonly #retry: RetryPolicy;
  readonly #lanes: Lane[];
  #stopped = false;
  /** Each DNS provider's state of a service's router, copied into messages when set (the running coordinator's). */
  dnsState: ((service: string) => AlertMessage["dns"]) | null = null;

  constructor(options: DispatcherOptions) {
    this.#o = options;
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    this.#lanes = options.destinations.map((d) => ({
      ...d,
      pager: pagerTypes.has(d.sender.type),
      cursor: null,
      seen: 0,
      groups: new Map(),
      lastCreated: new Map(),
      sentAt: [],
      cancelPump: null,
      pumping: false,
      work: Promise.resolve(),
    }));
  }

  /** Loads cursors, re-reads the events not yet grouped before a stop, and resumes pending deliveries. */
  async start(): Promise<void> {
    const cursors = await this.#o.outbox.cursors();
    for (const lane of this.#lanes) {
      lane.lastCreated = await this.#o.outbox.lastCreated(lane.name);
      const cursor = cursors.get(lane.name);
      if (cursor === undefined) continue;
      lane.cursor = cursor;
      lane.seen = cursor;
      const taken = await this.#o.outbox.takenEventIds(lane.name, cursor);
      for (let after = cursor; ; ) {
        const events = await this.#o.readEvents(after);
        const last = events.at(-1);
        if (!last) break;
        this.#accept(lane, events, taken);
        after = last.id;
      }
      // Nothing waiting: skip the replayed events that needed no message on the next start.
      if (lane.groups.size === 0 && lane.seen > cursor)
        await this.#o.outbox.advanceCursor(lane.name, lane.seen);
      this.#pump(lane);
    }
  }

  /** Takes newly stored events; returns at once (grouping and delivery run on timers). */
  enqueue(events: readonly AuditEvent[]): void {
    if (this.#stopped || events.length === 0) return;
    for (const lane of this.#lanes) this.#accept(lane, events, null);
  }

  /** Cancels every timer; buffered groups and pending entries stay for the next start. */
  stop(): void {
    this.#stopped = true;
    for (const lane of this.#lanes) {
      lane.cancelPump?.();
      for (const group of lane.groups.values()) group.cancel();
    }
  }

  /** Resolves when no outbox write or delivery is in flight (tests, shutdown). */
  async idle(): Promise<void> {
    for (let i = 0; i < 5; i++) await Promise.all(this.#lanes.map((lane) => lane.work));
  }

  /**
   * Each destination's position in the audit log: the event id up to which every event is in a
   * message or needed none (`null` before its first event). Stored as its cursor too, so that a
   * restart need not re-read events that only passed by (a pager sees few that concern it).
   */
  doneThrough(): Map<string, number | null> {
    const out = new Map<string, number | null>();
    for (const lane of this.#lanes) {
      const buffered = [...lane.groups.values()].flatMap((g) => g.events.map((e) => e.id));
      const done = buffered.length > 0 ? Math.min(lane.seen, ...buffered.map((id) => id - 1)) : lane.seen;
      if (lane.cursor !== null && done > lane.cursor) {
        lane.cursor = done;
        this.#chain(lane, () => this.#o.outbox.advanceCursor(lane.name, done));
      }
      out.set(lane.name, lane.cursor);
    }
    return out;
  }

  /** The destination names this dispatcher serves. */
  get destinations(): string[] {
    return this.#lanes.map((lane) => lane.name);
  }

  #accept(lane: Lane, events: readonly AuditEvent[], skip: ReadonlySet<number> | null): void {
    const first = events[0];
    if (lane.cursor === null && first) {
      lane.cursor = first.id - 1;
      this.#chain(lane, () => this.#o.outbox.initCursor(lane.name, first.id - 1));
    }
    for (const event of events) {
      if (event.id <= (lane.cursor ?? 0) || skip?.has(event.id)) continue;
      lane.seen = Math.max(lane.seen, event.id);
      const severity = this.#routed(lane, event);
      if (severity === null) continue;
      const key = event.service ?? "mesh";
      const now = this.#o.clock.now();
      const due = this.#due(lane, key, event, severity, now);
      const group = lane.groups.get(key);
      if (group) group.events.push(event);
      if (group && group.due <= due) continue;
      group?.cancel();
      const cancel = this.#o.clock.setTimer(() => this.#flush(lane, key), due - now);
      lane.groups.set(key, { events: group ? group.events : [event], due, cancel });
    }
  }

  /** The event's severity when it is routed to this destination, else null. */
  #routed(lane: Lane, event: AuditEvent): Severity | null {
    const route = lane.route;
    if (lane.pager) return pagerRouted(route, event) ? (severityOf(event) ?? "info") : null;
    const severity = severityOf(event);
    if (severity === null || !atLeast(severity, route.minSeverity)) return null;
    return route.events === null || route.events.has(event.type) ? severity : null;
  }

  /**
   * When a group holding `event` may go out: after `groupWait`, and no sooner than `repeatInterval`
   * after the group's last message, unless the event is news to it: more severe than that message
   * (a failover after held flaps), or critical and of a kind it did not report (providers diverging
   * after a DNS error). A repeat of what was just said (another failover while flapping) waits.
   */
  #due(lane: Lane, key: string, event: AuditEvent, severity: Severity, now: number): number {
    const wait = now + lane.route.groupWaitMs;
    // An incident opens or resolves once per episode: a pager never holds it back for repeatInterval.
    if (lane.pager) return wait;
    const last = lane.lastCreated.get(key);
    if (!last || severities.indexOf(severity) > severities.indexOf(last.severity)) return wait;
    if (severity === "critical" && !last.types.includes(event.type)) return wait;
    return Math.max(wait, last.at + lane.route.repeatIntervalMs);
  }

  #flush(lane: Lane, key: string): void {
    const group = lane.groups.get(key);
    if (!group || this.#stopped) return;
    lane.groups.delete(key);
    const buffered = [...lane.groups.values()].flatMap((g) => g.events.map((e) => e.id));
    const cursor = buffered.length > 0 ? Math.min(...buffered) - 1 : lane.seen;
    const now = this.#o.clock.now();
    const message = this.#message(lane, key, group.events);
    lane.lastCreated.set(key, lastMessageOf(message, now));
    this.#chain(lane, async () => {
      await this.#o.outbox.add(
        {
          // A decision's message has the decision's id on every member: receivers drop repeats.
          deliveryId: message.decision?.id ?? crypto.randomUUID(),
          destination: lane.name,
          key,
          message,
          eventIds: group.events.map((e) => e.id),
          createdAt: now,
          nextAt: now,
        },
        cursor,
      );
      this.#pump(lane);
    });
  }

  #message(lane: Lane, key: string, events: AuditEvent[]): AlertMessage {
    const message = formatMessage(key, events, this.#o.config);
    const dns = message.service ? this.dnsState?.(message.service) : undefined;
    if (dns) message.dns = dns;
    if (lane.pager) {
      const changes = episodeChangesOf(events, this.#o.config.zone);
      message.episodes = changes.filter((c) => episodeRuleRouted(lane.route, c.kind));
    }
    return message;
  }

  #pump(lane: Lane): void {
    if (this.#stopped || lane.pumping) return;
    lane.cancelPump?.();
    lane.cancelPump = null;
    lane.pumping = true;
    this.#chain(lane, async () => {
      try {
        await this.#drain(lane);
      } finally {
        lane.pumping = false;
      }
    });
  }

  async #drain(lane: Lane): Promise<void> {
    for (;;) {
      if (this.#stopped) return;
      const head = (await this.#o.outbox.pending(lane.name))[0];
      if (!head) return;
      const now = this.#o.clock.now();
      const wait = Math.max(head.nextAt - now, this.#rateWait(lane, now));
      if (wait > 0) {
        lane.cancelPump = this.#o.clock.setTimer(() => this.#pump(lane), wait);
        return;
      }
      await this.#attempt(lane, head);
    }
  }

  #rateWait(lane: Lane, now: number): number {
    const { messages, perMs } = lane.route.rateLimit;
    lane.sentAt = lane.sentAt.filter((t) => t > now - perMs);
    const oldest = lane.sentAt[0];
    return lane.sentAt.length >= messages && oldest !== undefined ? oldest + perMs - now : 0;
  }

  async #attempt(lane: Lane, entry: OutboxEntry): Promise<void> {
    const attempts = entry.attempts + 1;
    lane.sentAt.push(this.#o.clock.now());
    try {
      await lane.sender.send(entry.message, { id: entry.deliveryId, attempt: attempts });
      await this.#o.outbox.markSent(entry.id, attempts);
      this.#o.counters?.delivered(lane.name);
      this.#o.log.info(`Alert delivered to "${lane.name}": ${entry.message.title}`, { attempts });
    } catch (error) {
      this.#o.counters?.failed(lane.name);
      const fault =
        error instanceof DeliveryError ? error : new DeliveryError(String(error), { retryable: true });
      if (!fault.retryable || attempts >= this.#retry.maxAttempts) {
        await this.#o.outbox.markFailed(entry.id, { attempts, error: fault.message });
        this.#o.log.error(`Alert to "${lane.name}" dropped after ${attempts} attempt(s): ${fault.message}`);
        return;
      }
      const delay = this.#delay(attempts, fault.retryAfterMs);
      await this.#o.outbox.reschedule(entry.id, {
        nextAt: this.#o.clock.now() + delay,
        attempts,
        error: fault.message,
      });
      this.#o.log.warn(`Alert to "${lane.name}" will be retried in ${delay} ms: ${fault.message}`, {
        attempts,
      });
    }
  }

  /** Exponential backoff with jitter; a platform's own retry hint wins when longer (capped). */
  #delay(attempts: number, retryAfterMs: number | undefined): number {
    const exp = Math.min(this.#retry.maxBackoffMs, this.#retry.baseMs * 2 ** (attempts - 1));
    const jittered = Math.round(exp * (0.5 + 0.5 * (this.#o.random ?? Math.random)()));
    const asked = retryAfterMs === undefined ? 0 : Math.min(retryAfterMs, this.#retry.maxRetryAfterMs);
    return Math.max(jittered, asked);
  }

  #chain(lane: Lane, fn: () => Promise<unknown>): void {
    const next = lane.work.then(fn).catch((error: unknown) => {
      this.#o.log.error(`Alert outbox of "${lane.name}" failed`, { error: String(error) });
    });
    lane.work = next;
  }
}
