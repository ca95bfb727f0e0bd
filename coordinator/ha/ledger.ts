/**
 * The service ledger in etcd: what a new leader needs (live path, mode, pins, last switch, episode
 * flags, desired router target, decision number), one key per service. Every write is a txn that
 * compares each key's mod_revision with the one this member last read, and — for a decision —
 * the leader key's create revision with the writer's fence.
 */

import type { ServiceState } from "../engine.ts";
import type { Compare, Etcd, KeyValue, TxnOp } from "./etcd.ts";
import type { Fence } from "./leadership.ts";

/** One service as the ledger holds it. */
export interface LedgerEntry {
  state: ServiceState;
  /** Desired router target (FQDN with the trailing dot). */
  target: string;
  /** When that target was decided (ms). */
  decidedAt: number;
  /** etcd revision of the write that produced this entry: the cluster-wide decision number. */
  decision: number;
  /** The member that wrote it. */
  by: string;
}

/** A write the ledger refused because the state it was computed from is stale, or the writer no longer leads. */
export class LedgerConflictError extends Error {
  readonly reason: "stale" | "not-leader";
  constructor(reason: "stale" | "not-leader", message: string) {
    super(message);
    this.name = "LedgerConflictError";
    this.reason = reason;
  }
}

/** What a write carries: the state and its target, as computed by the writer. */
export type LedgerWrite = Omit<LedgerEntry, "decision" | "by">;

/** The service ledger over etcd; keeps the mod revisions it last saw to guard its writes. */
export class EtcdLedger {
  readonly #etcd: Etcd;
  readonly #prefix: string;
  readonly #leaderKey: string;
  readonly #self: string;
  #entries = new Map<string, LedgerEntry>();
  /** Per service, the revision the coordinator's own state is based on: what its writes compare. */
  #basis = new Map<string, number>();

  constructor(etcd: Etcd, options: { prefix: string; self: string }) {
    this.#etcd = etcd;
    this.#prefix = `${options.prefix}services/`;
    this.#leaderKey = `${options.prefix}leader`;
    this.#self = options.self;
  }

  /** Reads every entry linearizably and remembers the revisions. */
  async load(signal?: AbortSignal): Promise<Map<string, LedgerEntry>> {
    const { kvs } = await this.#etcd.range(this.#prefix, { prefix: true, ...(signal ? { signal } : {}) });
    this.#absorb(kvs);
    return this.entries();
  }

  /**
   * Marks entries as taken into the coordinator's state: its next writes are guarded by their
   * revisions. Until then a write is compared with the older revision and fails, so a decision
   * computed from a state the coordinator has not yet seen change can never overwrite that change.
   */
  adopted(entries: Iterable<LedgerEntry>): void {
    for (const entry of entries) this.#basis.set(entry.state.name, entry.decision);
  }

  /** Entries read whose revision is newer than the one the coordinator's state is based on. */
  newer(): LedgerEntry[] {
    return [...this.#entries.values()]
      .filter((e) => e.decision > (this.#basis.get(e.state.name) ?? 0))
      .map((e) => structuredClone(e));
  }

  /** The entries as last read or written. */
  entries(): Map<string, LedgerEntry> {
    return new Map([...this.#entries].map(([name, entry]) => [name, structuredClone(entry)]));
  }

  /**
   * Writes entries all-or-nothing, guarded by the revisions last seen; with `fence`, also by the
   * leader key (a decision). Without a fence only an operator's action or the first entry of a
   * service may be written. Throws `LedgerConflictError` (and reloads) when a guard fails.
   */
  async write(
    writes: LedgerWrite[],
    options: { fence?: Fence; basis?: "own" | "latest" } = {},
  ): Promise<number> {
    const fence = options.fence;
    // An operator's rebased verb is guarded by the latest revision read; everything else by the adopted one.
    const guard = (name: string) =>
      (options.basis === "latest" ? this.#entries.get(name)?.decision : this.#basis.get(name)) ?? 0;
    const compare: Compare[] = writes.map((w) => ({
      key: this.#key(w.state.name),
      target: "mod" as const,
      value: guard(w.state.name),
    }));
    if (fence) compare.push({ key: this.#leaderKey, target: "create" as const, value: fence.revision });
    const success: TxnOp[] = writes.map((w) => ({
      put: { key: this.#key(w.state.name), value: JSON.stringify({ ...w, by: this.#self }) },
    }));
    success.push({ range: { key: this.#prefix, prefix: true } });
    const result = await this.#etcd.txn(
      {
        compare,
        success,
        failure: [{ range: { key: this.#prefix, prefix: true } }, { range: { key: this.#leaderKey } }],
      },
      fence ? { signal: fence.signal } : {},
    );
    const ranged = result.succeeded ? result.results.at(-1) : result.results[0];
    this.#absorb(ranged?.kvs ?? []);
    if (!result.succeeded) {
      const leader = result.results[1]?.kvs[0];
      if (fence && leader?.createRevision !== fence.revision) {
        throw new LedgerConflictError(
          "not-leader",
          `Cannot record the decision: this member no longer leads (fence ${fence.revision})`,
        );
      }
      throw new LedgerConflictError(
        "stale",
        "Cannot record the change: another member changed the service first; reloaded",
      );
    }
    if (options.basis !== "latest") for (const w of writes) this.#basis.set(w.state.name, result.revision);
    return result.revision;
  }

  #key(service: string): string {
    return `${this.#prefix}${encodeURIComponent(service)}`;
  }

  // Every read covers the whole prefix, so it replaces what was known.
  #absorb(kvs: KeyValue[]): void {
    this.#entries = new Map();
    for (const kv of kvs) {
      const entry = parseEntry(kv);
      if (entry) this.#entries.set(entry.state.name, entry);
    }
  }
}

function parseEntry(kv: KeyValue): LedgerEntry | null {
  try {
    // Written only by EtcdLedger.write from a typed LedgerWrite; a key someone else wrote fails the checks below.
    const raw = JSON.parse(kv.value) as Partial<LedgerEntry>;
    if (!raw.state || typeof raw.state.name !== "string" || typeof raw.target !== "string") return null;
    return {
      state: raw.state,
      target: raw.target,
      decidedAt: Number(raw.decidedAt ?? 0),
      decision: kv.modRevision,
      by: String(raw.by ?? ""),
    };
  } catch {
    return null;
  }
}
