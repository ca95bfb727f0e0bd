/**
 * The book of open pager episodes: folded from every stored audit event in order, saved beside the
 * outbox with a cursor, and replayed from the audit log on start, so after a restart the coordinator
 * still knows what is open: Alertmanager alerts keep being re-posted, and the watches that end
 * episodes (a provider back in sync, providers agreeing again) pick up where they were.
 */
import type { Logger } from "../../shared/log.ts";
import type { AuditEvent } from "../store/store.ts";
import { type EpisodeChange, episodeChangesOf } from "./episodes.ts";
import type { Outbox } from "./outbox.ts";

/** What the book runs with. */
export interface EpisodeBookOptions {
  outbox: Outbox;
  /** Audit events after an event id, oldest first (the store's `listEvents`). */
  readEvents: (afterId: number) => Promise<AuditEvent[]>;
  zone: string;
  log: Logger;
}

/** Open episodes, by id. */
export class EpisodeBook {
  readonly #o: EpisodeBookOptions;
  readonly #open = new Map<string, EpisodeChange>();
  #cursor: number | null = null;
  #work: Promise<unknown> = Promise.resolve();

  constructor(options: EpisodeBookOptions) {
    this.#o = options;
  }

  /** Loads the saved episodes and folds the events stored after them (those a stop left unfolded). */
  async start(): Promise<void> {
    const ledger = await this.#o.outbox.episodes();
    for (const opening of ledger.open) this.#open.set(opening.id, opening);
    this.#cursor = ledger.cursor;
    // Without a cursor (first start) the book begins with the first event it is given.
    if (this.#cursor === null) return;
    for (;;) {
      const events = await this.#o.readEvents(this.#cursor);
      if (events.length === 0) break;
      await this.#save(this.#fold(events));
    }
  }

  /** Folds newly stored events; saving runs in the background, in order. */
  apply(events: readonly AuditEvent[]): void {
    const changes = this.#fold(events);
    this.#work = this.#work
      .then(() => this.#save(changes))
      .catch((error: unknown) => {
        this.#o.log.error("Cannot save pager episodes", { error: String(error) });
      });
  }

  /**
   * Forgets open episodes that are over by the coordinator's own state although their closing event
   * never reached this book (in a cluster another member recorded it); sends nothing.
   */
  forget(ids: readonly string[]): void {
    const closes = ids.flatMap((id) => {
      const opening = this.#open.get(id);
      if (!opening) return [];
      this.#open.delete(id);
      return [{ ...opening, action: "close" as const }];
    });
    if (closes.length === 0 || this.#cursor === null) return;
    const folded = { changes: closes, cursor: this.#cursor };
    this.#work = this.#work
      .then(() => this.#save(folded))
      .catch((error: unknown) => {
        this.#o.log.error("Cannot save pager episodes", { error: String(error) });
      });
  }

  /** The open episodes (their opening changes), oldest first. */
  open(): EpisodeChange[] {
    return [...this.#open.values()];
  }

  /** Resolves when every fold is saved (tests, shutdown). */
  async idle(): Promise<void> {
    await this.#work;
  }

  #fold(events: readonly AuditEvent[]): { changes: EpisodeChange[]; cursor: number } | null {
    const fresh = events.filter((e) => this.#cursor === null || e.id > this.#cursor);
    const last = fresh.at(-1);
    if (!last) return null;
    this.#cursor = Math.max(this.#cursor ?? 0, ...fresh.map((e) => e.id));
    const changes = episodeChangesOf(fresh, this.#o.zone);
    for (const change of changes) {
      if (change.action === "close") this.#open.delete(change.id);
      else if (!this.#open.has(change.id)) this.#open.set(change.id, change);
    }
    return { changes, cursor: this.#cursor };
  }

  async #save(folded: { changes: EpisodeChange[]; cursor: number } | null): Promise<void> {
    if (folded) await this.#o.outbox.saveEpisodes(folded.changes, folded.cursor);
  }
}
