/**
 * Retention: forgets what grows with time — audit events, accepted report ids, settled alert
 * messages — once it is older than `coordinator.retention`, in small batches in the background. It
 * never takes the coordinator's queue: each batch is one short statement of its own, and a backlog
 * is cleared batch by batch with the event loop free in between. An event that alerting has not
 * taken yet (a destination's cursor, an undelivered message, the pager episodes' cursor) is kept
 * however old it is.
 */
import type { Clock } from "../shared/clock.ts";
import type { Config } from "../shared/config-schema.ts";
import type { Logger } from "../shared/log.ts";
import type { Outbox } from "./alerts/outbox.ts";
import type { Store } from "./store/store.ts";

/** What retention runs with. */
export interface RetentionOptions {
  store: Pick<Store, "pruneEvents" | "pruneReports">;
  /** The alert outbox, whose settled messages are pruned too (absent: no alerting here). */
  outbox?: Pick<Outbox, "prune">;
  /** The highest event id every reader of the audit log is done with (absent: all of them are). */
  eventsDoneThrough?: () => Promise<number>;
  retention: Config["coordinator"]["retention"];
  clock: Clock;
  log: Logger;
  /** Most rows of each kind one batch forgets (default 1000). */
  batch?: number;
  /** Time between sweeps once nothing is left to prune (default 1 minute). */
  everyMs?: number;
}

/** What one batch forgot, and whether more was due than one batch could take. */
export interface PruneBatch {
  events: number;
  reports: number;
  alerts: number;
  more: boolean;
}

const DEFAULT_BATCH = 1000;
const DEFAULT_EVERY_MS = 60_000;

/** Prunes the store and the outbox by the configured retention. */
export class Retention {
  readonly #o: RetentionOptions;
  readonly #batch: number;
  #cancel: (() => void) | null = null;
  #running: Promise<unknown> = Promise.resolve();

  constructor(options: RetentionOptions) {
    this.#o = options;
    this.#batch = options.batch ?? DEFAULT_BATCH;
  }

  /** Forgets at most one batch of each kind that is past its retention. */
  async pruneBatch(): Promise<PruneBatch> {
    const { store, outbox, retention, clock } = this.#o;
    const now = clock.now();
    const limit = this.#batch;
    const throughId = this.#o.eventsDoneThrough ? await this.#o.eventsDoneThrough() : Number.MAX_SAFE_INTEGER;
    const events = await store.pruneEvents({ beforeMs: now - retention.events, throughId, limit });
    const reports = await store.pruneReports(now - retention.reportIds, limit);
    const alerts = outbox ? await outbox.prune(now - retention.alerts, limit) : 0;
    return { events, reports, alerts, more: events === limit || reports === limit || alerts === limit };
  }

  /**
   * Runs batches until nothing due is left or `maxBatches` ran (a Durable Object's alarm bounds its
   * work this way); returns the totals.
   */
  async catchUp(options: { maxBatches: number }): Promise<PruneBatch> {
    const total: PruneBatch = { events: 0, reports: 0, alerts: 0, more: true };
    for (let i = 0; i < options.maxBatches && total.more; i++) {
      const batch = await this.pruneBatch();
      total.events += batch.events;
      total.reports += batch.reports;
      total.alerts += batch.alerts;
      total.more = batch.more;
    }
    return total;
  }

  /** Prunes now and then every `everyMs`; a backlog goes batch after batch, each on a fresh timer turn. */
  start(): void {
    const every = this.#o.everyMs ?? DEFAULT_EVERY_MS;
    let backlog: PruneBatch = { events: 0, reports: 0, alerts: 0, more: false };
    const run = () => {
      this.#running = this.pruneBatch().then(
        (batch) => {
          backlog = {
            events: backlog.events + batch.events,
            reports: backlog.reports + batch.reports,
            alerts: backlog.alerts + batch.alerts,
            more: batch.more,
          };
          if (!batch.more) {
            // Steady-state sweeps forget a handful of rows each; only a cleared backlog is worth a line.
            if (backlog.events + backlog.reports + backlog.alerts >= this.#batch)
              this.#o.log.info(
                `Pruned ${backlog.events} event(s), ${backlog.reports} report id(s) and ${backlog.alerts} alert message(s) past retention`,
              );
            backlog = { events: 0, reports: 0, alerts: 0, more: false };
          }
          if (this.#cancel) this.#schedule(run, batch.more ? 0 : every);
        },
        (error: unknown) => {
          this.#o.log.error("Cannot prune past retention", { error: String(error) });
          if (this.#cancel) this.#schedule(run, every);
        },
      );
    };
    this.#schedule(run, 0);
  }

  /** Stops the background pruning; a batch in flight finishes (await `idle`). */
  stop(): void {
    this.#cancel?.();
    this.#cancel = null;
  }

  /** Resolves when no batch is in flight. */
  async idle(): Promise<void> {
    await this.#running;
  }

  #schedule(run: () => void, ms: number): void {
    this.#cancel = this.#o.clock.setTimer(run, ms);
  }
}
