/**
 * The providers' board in etcd: the leader publishes its view of each DNS provider there
 * (`provider-summary.ts`), a follower reads it once per election round and shows it as its own.
 */

import type { DesiredTarget } from "../dns/reconciler.ts";
import type { ProviderRouterRow } from "../store/store.ts";
import type { Etcd } from "./etcd.ts";
import type { Fence } from "./leadership.ts";
import {
  contentOf,
  decodeSummary,
  encodeSummary,
  expand,
  type PathTargets,
  type ProviderSummary,
  summarize,
} from "./provider-summary.ts";

/** Publishes (leader) and reads (follower) the providers' summaries under `PREFIX/dns/`. */
export class ProviderBoard {
  readonly #etcd: Etcd;
  readonly #prefix: string;
  readonly #leaderKey: string;
  readonly #self: string;
  readonly #targets: PathTargets;
  /** Per provider, the content this member last wrote while it leads (reset by `forget`). */
  #written = new Map<string, string>();
  #read = new Map<string, ProviderSummary>();

  constructor(etcd: Etcd, options: { prefix: string; self: string; targets: PathTargets }) {
    this.#etcd = etcd;
    this.#prefix = `${options.prefix}dns/`;
    this.#leaderKey = `${options.prefix}leader`;
    this.#self = options.self;
    this.#targets = options.targets;
  }

  /**
   * Writes the summaries whose content changed since this member's last write, in one txn fenced
   * by the leader key; returns how many it wrote (0 when nothing changed or it no longer leads).
   */
  async publish(rows: readonly ProviderRouterRow[], fence: Fence, now: number): Promise<number> {
    const byProvider = new Map<string, ProviderRouterRow[]>();
    for (const row of rows) {
      const list = byProvider.get(row.provider);
      if (list) list.push(row);
      else byProvider.set(row.provider, [row]);
    }
    const changed: { provider: string; content: string; value: string }[] = [];
    for (const [provider, list] of byProvider) {
      const summary = summarize(list, this.#targets, { provider, leader: this.#self, writtenAt: now });
      const content = contentOf(summary);
      if (this.#written.get(provider) === content) continue;
      changed.push({ provider, content, value: encodeSummary(summary) });
    }
    if (changed.length === 0) return 0;
    const result = await this.#etcd.txn(
      {
        compare: [{ key: this.#leaderKey, target: "create", value: fence.revision }],
        success: changed.map((c) => ({ put: { key: this.#key(c.provider), value: c.value } })),
      },
      { signal: fence.signal },
    );
    if (!result.succeeded) return 0;
    for (const c of changed) this.#written.set(c.provider, c.content);
    return changed.length;
  }

  /** A new term writes every summary again: a predecessor may have written something else. */
  forget(): void {
    this.#written.clear();
  }

  /** Reads every provider's summary (a follower, once per round). */
  async load(signal?: AbortSignal): Promise<void> {
    const { kvs } = await this.#etcd.range(this.#prefix, { prefix: true, ...(signal ? { signal } : {}) });
    const read = new Map<string, ProviderSummary>();
    for (const kv of kvs) {
      const summary = decodeSummary(kv.value);
      if (summary) read.set(summary.provider, summary);
    }
    this.#read = read;
  }

  /** One provider's rows as the leader last published them, or null when it has published none. */
  rows(provider: string, desired: readonly DesiredTarget[]): ProviderRouterRow[] | null {
    const summary = this.#read.get(provider);
    return summary ? expand(summary, desired, this.#targets) : null;
  }

  #key(provider: string): string {
    return `${this.#prefix}${encodeURIComponent(provider)}`;
  }
}
