/** The etcd v3 port the HA code talks to: key-value reads, guarded transactions and leases. */

/** One key as etcd stores it; revisions are numbers (they stay far below 2^53), lease ids strings. */
export interface KeyValue {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  /** "0" when the key has no lease. */
  lease: string;
}

/** A transaction guard, e.g. `{ key, target: "create", value: 0 }` for "the key does not exist". */
export interface Compare {
  key: string;
  target: "create" | "mod" | "version" | "value";
  /** Defaults to "equal". */
  result?: "equal" | "not-equal" | "greater" | "less";
  value: number | string;
}

/** One operation inside a transaction. */
export type TxnOp =
  | { put: { key: string; value: string; lease?: string } }
  | { range: { key: string; prefix?: boolean } }
  | { delete: { key: string; prefix?: boolean } };

/** What one transaction operation answered: the keys a range read, empty for put and delete. */
export interface TxnOpResult {
  kvs: KeyValue[];
}

/** A transaction: `success` runs when every compare holds, else `failure`. */
export interface Txn {
  compare: Compare[];
  success: TxnOp[];
  failure?: TxnOp[];
}

/** The answer to a transaction; `revision` is the store's revision after it. */
export interface TxnResult {
  succeeded: boolean;
  revision: number;
  results: TxnOpResult[];
}

/** Options every call accepts: an abort signal (e.g. the leader's deadline). */
export interface CallOptions {
  signal?: AbortSignal;
}

/** The etcd operations healthmesh needs; implementations: `etcd-client.ts` (JSON gateway), `etcd-memory.ts` (tests). */
export interface Etcd {
  /** Linearizable read of one key, or of every key under a prefix. */
  range(
    key: string,
    options?: CallOptions & { prefix?: boolean },
  ): Promise<{ kvs: KeyValue[]; revision: number }>;
  /** Unconditional write (used for member heartbeats only). */
  put(key: string, value: string, options?: CallOptions & { lease?: string }): Promise<{ revision: number }>;
  /** Guarded multi-key write. */
  txn(txn: Txn, options?: CallOptions): Promise<TxnResult>;
  /** Grants a lease of `ttlSeconds`; etcd may grant more (its minimum TTL). */
  leaseGrant(ttlSeconds: number, options?: CallOptions): Promise<{ id: string; ttlSeconds: number }>;
  /** Renews a lease; answers the TTL it now has, 0 when the lease is gone. */
  leaseKeepAlive(id: string, options?: CallOptions): Promise<{ ttlSeconds: number }>;
  /** Revokes a lease and deletes the keys bound to it; a lease already gone is not an error. */
  leaseRevoke(id: string, options?: CallOptions): Promise<void>;
}

/** An etcd call failed; `retryable` when another attempt (or another endpoint) may succeed. */
export class EtcdError extends Error {
  readonly retryable: boolean;
  /** The gRPC status code etcd answered, when it answered one. */
  readonly code: number | undefined;

  constructor(message: string, options: { retryable: boolean; code?: number; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = "EtcdError";
    this.retryable = options.retryable;
    this.code = options.code;
  }
}
