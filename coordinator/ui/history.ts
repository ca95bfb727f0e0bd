/** Short in-memory histories behind the status page: recent check latencies and recent audit events. */
import type { EventView, LatencySeries } from "../../shared/api-schema.ts";
import type { Endpoint } from "../../shared/protocol.ts";

type Point = LatencySeries["points"][number] & { seq: number };
type Series = Omit<LatencySeries, "points"> & { points: Point[] };

/**
 * The last `limit` check results of every probe on every endpoint, fed as reports are accepted.
 * Every point gets a sequence number, so a reader asks for what was recorded after its `cursor`.
 */
export class LatencyHistory {
  /** service → "probe\0endpoint" → series: a page reads only its own services' series. */
  readonly #byService = new Map<string, Map<string, Series>>();
  readonly #limit: number;
  #seq = 0;

  constructor(limit = 60) {
    this.#limit = limit;
  }

  /** The sequence number of the newest point (0 before any). */
  get cursor(): number {
    return this.#seq;
  }

  /** Adds a result unless it is not newer than the series' last point (the same report seen again). */
  record(
    key: { probe: string; service: string; endpoint: Endpoint },
    last: { ok: boolean; latencyMs?: number; checkedAt: string },
  ): void {
    let service = this.#byService.get(key.service);
    if (!service) {
      service = new Map();
      this.#byService.set(key.service, service);
    }
    const id = `${key.probe}\u0000${key.endpoint}`;
    let series = service.get(id);
    if (!series) {
      series = { ...key, points: [] };
      service.set(id, series);
    }
    const previous = series.points.at(-1);
    if (previous && Date.parse(previous.at) >= Date.parse(last.checkedAt)) return;
    series.points.push({
      at: last.checkedAt,
      ok: last.ok,
      latencyMs: last.latencyMs ?? null,
      seq: ++this.#seq,
    });
    if (series.points.length > this.#limit) series.points.splice(0, series.points.length - this.#limit);
  }

  /** Every series, copied (or only those of `services`), with only the points recorded after `after`. */
  series(options: { services?: Iterable<string>; after?: number } = {}): LatencySeries[] {
    const after = options.after ?? 0;
    const names = options.services ?? this.#byService.keys();
    const out: LatencySeries[] = [];
    for (const name of names) {
      for (const s of this.#byService.get(name)?.values() ?? []) {
        const points = s.points
          .filter((p) => p.seq > after)
          .map(({ at, ok, latencyMs }) => ({ at, ok, latencyMs }));
        if (points.length > 0 || after === 0)
          out.push({ probe: s.probe, service: s.service, endpoint: s.endpoint, points });
      }
    }
    return out;
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
