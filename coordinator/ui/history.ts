/** Short in-memory histories behind the status page: recent check latencies and recent audit events. */
import type { EventView, LatencySeries } from "../../shared/api-schema.ts";
import type { Endpoint } from "../../shared/protocol.ts";

/** The last `limit` check results of every probe on every endpoint, fed as reports are accepted. */
export class LatencyHistory {
  readonly #series = new Map<string, LatencySeries>();
  readonly #limit: number;

  constructor(limit = 60) {
    this.#limit = limit;
  }

  /** Adds a result unless it is not newer than the series' last point (the same report seen again). */
  record(
    key: { probe: string; service: string; endpoint: Endpoint },
    last: { ok: boolean; latencyMs?: number; checkedAt: string },
  ): void {
    const id = `${key.probe}\u0000${key.service}\u0000${key.endpoint}`;
    let series = this.#series.get(id);
    if (!series) {
      series = { ...key, points: [] };
      this.#series.set(id, series);
    }
    const previous = series.points.at(-1);
    if (previous && Date.parse(previous.at) >= Date.parse(last.checkedAt)) return;
    series.points.push({ at: last.checkedAt, ok: last.ok, latencyMs: last.latencyMs ?? null });
    if (series.points.length > this.#limit) series.points.splice(0, series.points.length - this.#limit);
  }

  /** Every series, copied. */
  series(): LatencySeries[] {
    return [...this.#series.values()].map((s) => ({ ...s, points: s.points.map((p) => ({ ...p })) }));
  }
}

/** Where recent events are read from (the coordinator). */
export interface RecentEventSource {
  events(options: { sinceMs?: number; afterId?: number; limit?: number }): Promise<EventView[]>;
}

/** The newest `keep` audit events, read incrementally from the store on demand. */
export class RecentEvents {
  readonly #keep: number;
  #events: EventView[] = [];
  #cursor: number | null = null;
  #reading: Promise<void> | null = null;

  constructor(keep = 40) {
    this.#keep = keep;
  }

  /** Reads what is new since the last call (the first call reads the last week); one reader at a time. */
  refresh(source: RecentEventSource, nowMs: number): Promise<EventView[]> {
    this.#reading ??= this.#read(source, nowMs).finally(() => {
      this.#reading = null;
    });
    return this.#reading.then(() => [...this.#events]);
  }

  async #read(source: RecentEventSource, nowMs: number): Promise<void> {
    const page = 500;
    for (;;) {
      const batch =
        this.#cursor === null
          ? await source.events({ sinceMs: nowMs - 7 * 24 * 3600_000, limit: page })
          : await source.events({ afterId: this.#cursor, limit: page });
      const last = batch.at(-1);
      if (last) this.#cursor = last.id;
      this.#events.push(...batch);
      if (this.#events.length > this.#keep) this.#events.splice(0, this.#events.length - this.#keep);
      if (batch.length < page) return;
    }
  }
}
