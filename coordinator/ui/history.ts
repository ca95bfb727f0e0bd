/** Short in-memory histories behind the status page: recent check latencies and recent audit events. */
import type { EventView, LatencySeries } from "../../shared/api-schema.ts";
import type { Endpoint } from "../../shared/protocol.ts";

/** How much history to keep: points per series, and a bound on all points together. */
export interface HistoryLimits {
  /** Points kept per probe × endpoint series (60: ten minutes at a 10 s interval). */
  perSeries?: number;
  /** All points together: at most this many are held, whatever the mesh's size (fewer per series then). */
  maxPoints?: number;
  /** How many series the mesh has (services × probes × 2), when known: sizes the store once. */
  expectedSeries?: number;
}

/**
 * The last few check results of every probe on every endpoint, fed as reports are accepted. Every
 * point gets a sequence number, so a reader asks for what was recorded after its `cursor`.
 *
 * Points live in flat typed arrays, a ring of `perSeries` slots per series (8 + 8 + 8 + 1 bytes a
 * point, no object or string per point), and the total is bounded: with `expectedSeries` known, each
 * series keeps `maxPoints / expectedSeries` points (at least 2, at most `perSeries`). A mesh of 10,000
 * services × 12 probes keeps 4 points a series (the page shows 20 services at a time), instead of 60
 * objects with a string each: about 1.4 GiB.
 */
export class LatencyHistory {
  /** service → "probe\0endpoint" → series number. */
  readonly #byService = new Map<string, Map<string, number>>();
  readonly #keys: { probe: string; service: string; endpoint: Endpoint }[] = [];
  readonly #per: number;
  #at = new Float64Array(0);
  #seq = new Float64Array(0);
  #latency = new Float64Array(0);
  #ok = new Uint8Array(0);
  /** Per series: the slot the next point goes to, and how many points it holds. */
  #next = new Uint16Array(0);
  #count = new Uint16Array(0);
  #cursor = 0;

  constructor(limits: HistoryLimits = {}) {
    const per = limits.perSeries ?? 60;
    const max = limits.maxPoints ?? 1_000_000;
    const fit = limits.expectedSeries ? Math.floor(max / limits.expectedSeries) : per;
    this.#per = Math.max(2, Math.min(per, fit));
    this.#grow(limits.expectedSeries ?? 16);
  }

  /** The sequence number of the newest point (0 before any). */
  get cursor(): number {
    return this.#cursor;
  }

  /** Points kept per series. */
  get perSeries(): number {
    return this.#per;
  }

  /** Adds a result unless it is not newer than the series' last point (the same report seen again). */
  record(
    key: { probe: string; service: string; endpoint: Endpoint },
    last: { ok: boolean; latencyMs?: number; checkedAt: string },
  ): void {
    const series = this.#series(key);
    const at = Date.parse(last.checkedAt);
    const count = this.#count[series] as number;
    const next = this.#next[series] as number;
    const base = series * this.#per;
    if (count > 0 && (this.#at[base + ((next + this.#per - 1) % this.#per)] as number) >= at) return;
    const slot = base + next;
    this.#at[slot] = at;
    this.#ok[slot] = last.ok ? 1 : 0;
    this.#latency[slot] = last.latencyMs ?? Number.NaN;
    this.#seq[slot] = ++this.#cursor;
    this.#next[series] = (next + 1) % this.#per;
    this.#count[series] = Math.min(count + 1, this.#per);
  }

  /** Every series (or only those of `services`), with only the points recorded after `after`, oldest first. */
  series(options: { services?: Iterable<string>; after?: number } = {}): LatencySeries[] {
    const after = options.after ?? 0;
    const names = options.services ?? this.#byService.keys();
    const out: LatencySeries[] = [];
    for (const name of names) {
      for (const series of this.#byService.get(name)?.values() ?? []) {
        const points: LatencySeries["points"] = [];
        const count = this.#count[series] as number;
        const first = ((this.#next[series] as number) - count + this.#per) % this.#per;
        for (let i = 0; i < count; i++) {
          const slot = series * this.#per + ((first + i) % this.#per);
          if ((this.#seq[slot] as number) <= after) continue;
          const latency = this.#latency[slot] as number;
          points.push({
            at: new Date(this.#at[slot] as number).toISOString(),
            ok: this.#ok[slot] === 1,
            latencyMs: Number.isNaN(latency) ? null : latency,
          });
        }
        if (points.length > 0 || after === 0) out.push({ ...(this.#keys[series] as LatencySeries), points });
      }
    }
    return out;
  }

  #series(key: { probe: string; service: string; endpoint: Endpoint }): number {
    let service = this.#byService.get(key.service);
    if (!service) {
      service = new Map();
      this.#byService.set(key.service, service);
    }
    const id = `${key.probe}\u0000${key.endpoint}`;
    const known = service.get(id);
    if (known !== undefined) return known;
    const series = this.#keys.length;
    this.#keys.push({ probe: key.probe, service: key.service, endpoint: key.endpoint });
    service.set(id, series);
    if (series >= this.#count.length) this.#grow(this.#count.length * 2);
    return series;
  }

  /** Room for `series` series, keeping what is held. */
  #grow(series: number): void {
    const copy = <T extends Float64Array | Float32Array | Uint8Array | Uint16Array>(
      old: T,
      make: (n: number) => T,
      n: number,
    ) => {
      const made = make(n);
      made.set(old);
      return made;
    };
    const points = series * this.#per;
    this.#at = copy(this.#at, (n) => new Float64Array(n), points);
    this.#seq = copy(this.#seq, (n) => new Float64Array(n), points);
    this.#latency = copy(this.#latency, (n) => new Float64Array(n), points);
    this.#ok = copy(this.#ok, (n) => new Uint8Array(n), points);
    this.#next = copy(this.#next, (n) => new Uint16Array(n), series);
    this.#count = copy(this.#count, (n) => new Uint16Array(n), series);
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
