/** An in-process etcd for fake-clock tests: revisions, guarded txns and leases that expire on the injected clock. */

import type { Clock } from "../../shared/clock.ts";
import { type Compare, type Etcd, EtcdError, type KeyValue, type TxnOp, type TxnOpResult } from "./etcd.ts";

interface Lease {
  ttlSeconds: number;
  expiresAt: number;
}

/** A single-member etcd in memory; `reachable = false` makes every call fail like a lost quorum. */
export class MemoryEtcd implements Etcd {
  reachable = true;
  readonly #clock: Clock;
  readonly #keys = new Map<string, KeyValue>();
  readonly #leases = new Map<string, Lease>();
  #revision = 1;
  #nextLease = 1;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  async range(key: string, options: { prefix?: boolean } = {}) {
    this.#enter();
    return { kvs: this.#read(key, options.prefix === true), revision: this.#revision };
  }

  async put(key: string, value: string, options: { lease?: string } = {}) {
    this.#enter();
    this.#revision++;
    this.#write(key, value, options.lease);
    return { revision: this.#revision };
  }

  async txn(txn: { compare: Compare[]; success: TxnOp[]; failure?: TxnOp[] }) {
    this.#enter();
    const succeeded = txn.compare.every((c) => this.#holds(c));
    const ops = succeeded ? txn.success : (txn.failure ?? []);
    if (ops.some((op) => !("range" in op))) this.#revision++;
    const results = ops.map((op) => this.#apply(op));
    return { succeeded, revision: this.#revision, results };
  }

  async leaseGrant(ttlSeconds: number) {
    this.#enter();
    const id = String(this.#nextLease++);
    this.#leases.set(id, { ttlSeconds, expiresAt: this.#clock.now() + ttlSeconds * 1000 });
    return { id, ttlSeconds };
  }

  async leaseKeepAlive(id: string) {
    this.#enter();
    const lease = this.#leases.get(id);
    if (!lease) return { ttlSeconds: 0 };
    lease.expiresAt = this.#clock.now() + lease.ttlSeconds * 1000;
    return { ttlSeconds: lease.ttlSeconds };
  }

  async leaseRevoke(id: string) {
    this.#enter();
    this.#drop(id);
  }

  #enter(): void {
    if (!this.reachable)
      throw new EtcdError("Cannot reach etcd: no quorum (memory etcd set unreachable)", { retryable: true });
    const now = this.#clock.now();
    for (const [id, lease] of this.#leases) if (lease.expiresAt <= now) this.#drop(id);
  }

  #drop(leaseId: string): void {
    if (!this.#leases.delete(leaseId)) return;
    const bound = [...this.#keys.values()].filter((kv) => kv.lease === leaseId);
    if (bound.length > 0) this.#revision++;
    for (const kv of bound) this.#keys.delete(kv.key);
  }

  #read(key: string, prefix: boolean): KeyValue[] {
    if (!prefix) {
      const kv = this.#keys.get(key);
      return kv ? [{ ...kv }] : [];
    }
    return [...this.#keys.values()].filter((kv) => kv.key.startsWith(key)).map((kv) => ({ ...kv }));
  }

  #write(key: string, value: string, lease: string | undefined): void {
    if (lease && !this.#leases.has(lease)) {
      throw new EtcdError("etcd refused put: etcdserver: requested lease not found", {
        retryable: false,
        code: 5,
      });
    }
    const old = this.#keys.get(key);
    this.#keys.set(key, {
      key,
      value,
      createRevision: old?.createRevision ?? this.#revision,
      modRevision: this.#revision,
      version: (old?.version ?? 0) + 1,
      lease: lease ?? "0",
    });
  }

  #apply(op: TxnOp): TxnOpResult {
    if ("put" in op) this.#write(op.put.key, op.put.value, op.put.lease);
    if ("delete" in op)
      for (const kv of this.#read(op.delete.key, op.delete.prefix === true)) this.#keys.delete(kv.key);
    return { kvs: "range" in op ? this.#read(op.range.key, op.range.prefix === true) : [] };
  }

  #holds(compare: Compare): boolean {
    const kv = this.#keys.get(compare.key);
    const actual =
      compare.target === "value"
        ? (kv?.value ?? "")
        : compare.target === "create"
          ? (kv?.createRevision ?? 0)
          : compare.target === "mod"
            ? (kv?.modRevision ?? 0)
            : (kv?.version ?? 0);
    const expected = compare.value;
    switch (compare.result ?? "equal") {
      case "equal":
        return actual === expected;
      case "not-equal":
        return actual !== expected;
      case "greater":
        return actual > expected;
      case "less":
        return actual < expected;
    }
  }
}
