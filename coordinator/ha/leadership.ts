/**
 * Leader election on etcd: one leader key bound to this member's lease, created only when absent;
 * its create revision is the fencing token. The leader acts only before its local deadline (send
 * time of the last confirmed keepalive + TTL − margin, on a monotonic clock), before etcd could
 * let the lease expire and elect someone else.
 */

import type { Clock } from "../../shared/clock.ts";
import type { Logger } from "../../shared/log.ts";
import type { Etcd, KeyValue, TxnResult } from "./etcd.ts";

/** Proof of leadership a write carries: the token and the moment it stops being valid. */
export interface Fence {
  /** Create revision of the leader key: grows with every new leader. */
  revision: number;
  /** Monotonic ms after which this member must not act. */
  deadline: number;
  /** Aborted at the deadline or when this member steps down. */
  signal: AbortSignal;
}

/** One coordinator as the cluster sees it. */
export interface MemberInfo {
  id: string;
  url: string;
  /** Wall-clock ms of its last heartbeat. */
  lastSeen: number;
}

/** What this member knows of the cluster. */
export interface ClusterView {
  self: string;
  isLeader: boolean;
  leader: { id: string; url: string; revision: number } | null;
  members: MemberInfo[];
  /** No contact with an etcd quorum for longer than the TTL: nobody may act. */
  frozen: boolean;
}

/** How to take part in the election. */
export interface LeadershipOptions {
  etcd: Etcd;
  /** Key prefix, e.g. `/healthmesh/prod/`. */
  prefix: string;
  id: string;
  url: string;
  ttlMs: number;
  /** Safety margin taken off the deadline; defaults to max(250 ms, TTL / 4). */
  marginMs?: number;
  clock: Clock;
  /** Monotonic milliseconds; defaults to `clock.now` (give `performance.now` in production). */
  monotonic?: () => number;
  log: Logger;
  /** Called whenever the view changes (leader, frozen, members). */
  onChange?: (view: ClusterView) => void;
}

interface Term {
  revision: number;
  deadline: number;
  controller: AbortController;
  cancelTimer: () => void;
}

/** One member's part in the election; `start()` runs `tick()` every TTL / 4. */
export class Leadership {
  readonly #o: LeadershipOptions;
  readonly #mono: () => number;
  readonly #leaderKey: string;
  readonly #memberPrefix: string;
  #lease: string | null = null;
  #term: Term | null = null;
  #view: ClusterView;
  #lastContact: number;
  #stopTimer: (() => void) | null = null;
  #cancelFrozen: () => void = () => {};
  #running: Promise<void> | null = null;

  constructor(options: LeadershipOptions) {
    this.#o = options;
    this.#mono = options.monotonic ?? (() => options.clock.now());
    this.#leaderKey = `${options.prefix}leader`;
    this.#memberPrefix = `${options.prefix}members/`;
    this.#lastContact = this.#mono();
    this.#view = { self: options.id, isLeader: false, leader: null, members: [], frozen: false };
  }

  /** Runs the election loop until `stop()`. */
  start(): void {
    const loop = () => {
      this.#running = this.tick().finally(() => {
        this.#running = null;
        if (this.#stopTimer) this.#stopTimer = this.#o.clock.setTimer(loop, this.#o.ttlMs / 4);
      });
    };
    this.#stopTimer = () => {};
    loop();
  }

  /** Stops the loop; a leader revokes its lease so the next member takes over at once. */
  async stop(): Promise<void> {
    const cancel = this.#stopTimer;
    this.#stopTimer = null;
    cancel?.();
    this.#cancelFrozen();
    await this.#running;
    const lease = this.#lease;
    this.#stepDown("stopped");
    this.#lease = null;
    if (lease) await this.#o.etcd.leaseRevoke(lease).catch(() => undefined);
  }

  /** The current view of the cluster. */
  view(): ClusterView {
    return { ...this.#view, isLeader: this.current() !== null, frozen: this.#frozen() };
  }

  /** The fence when this member leads and its deadline has not passed (a local check, no I/O). */
  current(): Fence | null {
    const term = this.#term;
    if (!term || this.#mono() >= term.deadline) return null;
    return { revision: term.revision, deadline: term.deadline, signal: term.controller.signal };
  }

  /** Re-checks the leader key linearizably before acting: a keepalive that succeeded is not proof (etcd #14758, #15247). */
  async confirm(): Promise<Fence | null> {
    const fence = this.current();
    if (!fence) return null;
    try {
      const { kvs } = await this.#o.etcd.range(this.#leaderKey, { signal: fence.signal });
      if (kvs[0]?.createRevision !== fence.revision) {
        this.#stepDown("the leader key is no longer ours");
        return null;
      }
    } catch {
      return null; // no answer: not proof, and the deadline will end the term if it lasts
    }
    return this.current();
  }

  /** One round: renew or get a lease, then hold, take or watch the leader key, and heartbeat. */
  async tick(): Promise<void> {
    const sent = this.#mono();
    try {
      const ttlSeconds = await this.#renewLease();
      const result = this.#term ? await this.#hold() : await this.#campaign();
      this.#lastContact = sent;
      this.#absorb(result, sent, ttlSeconds);
      // Tell onChange as soon as the contact is a TTL old, not at the end of a slow failing round.
      this.#cancelFrozen();
      this.#cancelFrozen = this.#o.clock.setTimer(
        () => this.#publish(),
        this.#o.ttlMs + 1 - (this.#mono() - sent),
      );
    } catch (error) {
      this.#o.log.warn("Cannot reach etcd for leadership", { error: String(error) });
    }
    this.#publish();
  }

  async #renewLease(): Promise<number> {
    const { etcd, ttlMs } = this.#o;
    if (this.#lease) {
      const { ttlSeconds } = await etcd.leaseKeepAlive(this.#lease, this.#callOptions());
      if (ttlSeconds > 0) return ttlSeconds;
      this.#lease = null;
      this.#stepDown("the lease expired");
    }
    const granted = await etcd.leaseGrant(ttlMs / 1000);
    this.#lease = granted.id;
    return granted.ttlSeconds;
  }

  #callOptions(): { signal?: AbortSignal } {
    return this.#term ? { signal: this.#term.controller.signal } : {};
  }

  #hold(): Promise<TxnResult> {
    const term = this.#term;
    return this.#o.etcd.txn(
      {
        compare: [{ key: this.#leaderKey, target: "create", value: term?.revision ?? -1 }],
        success: [
          this.#heartbeat(),
          { range: { key: this.#leaderKey } },
          { range: { key: this.#memberPrefix, prefix: true } },
        ],
        failure: [
          this.#heartbeat(),
          { range: { key: this.#leaderKey } },
          { range: { key: this.#memberPrefix, prefix: true } },
        ],
      },
      this.#callOptions(),
    );
  }

  #campaign(): Promise<TxnResult> {
    const lease = this.#lease ?? undefined;
    const holder = JSON.stringify({ id: this.#o.id, url: this.#o.url });
    const leader = lease
      ? { key: this.#leaderKey, value: holder, lease }
      : { key: this.#leaderKey, value: holder };
    return this.#o.etcd.txn({
      compare: [{ key: this.#leaderKey, target: "create", value: 0 }],
      success: [
        { put: leader },
        this.#heartbeat(),
        { range: { key: this.#leaderKey } },
        { range: { key: this.#memberPrefix, prefix: true } },
      ],
      failure: [
        this.#heartbeat(),
        { range: { key: this.#leaderKey } },
        { range: { key: this.#memberPrefix, prefix: true } },
      ],
    });
  }

  #heartbeat() {
    const value = JSON.stringify({ id: this.#o.id, url: this.#o.url, lastSeen: this.#o.clock.now() });
    const put = {
      key: `${this.#memberPrefix}${this.#o.id}`,
      value,
      ...(this.#lease ? { lease: this.#lease } : {}),
    };
    return { put };
  }

  // Reads the txn's answer: [.., leader key, members]; extends or starts the term when the key is ours.
  #absorb(result: TxnResult, sent: number, ttlSeconds: number): void {
    const leaderKv = result.results.at(-2)?.kvs[0];
    const members = result.results.at(-1)?.kvs ?? [];
    this.#view = { ...this.#view, leader: parseLeader(leaderKv), members: members.flatMap(parseMember) };
    const ours =
      leaderKv !== undefined &&
      leaderKv.lease === this.#lease &&
      parseLeader(leaderKv)?.id === this.#o.id &&
      (this.#term === null || this.#term.revision === leaderKv.createRevision);
    if (!ours) {
      this.#stepDown("another member holds the leader key");
      return;
    }
    const deadline = sent + ttlSeconds * 1000 - (this.#o.marginMs ?? Math.max(250, this.#o.ttlMs / 4));
    if (!this.#term) {
      this.#term = {
        revision: leaderKv.createRevision,
        deadline,
        controller: new AbortController(),
        cancelTimer: () => {},
      };
      this.#o.log.info("Leading the cluster", { revision: leaderKv.createRevision });
    }
    this.#extend(this.#term, deadline);
  }

  #extend(term: Term, deadline: number): void {
    term.deadline = Math.max(term.deadline, deadline);
    term.cancelTimer();
    term.cancelTimer = this.#o.clock.setTimer(() => {
      if (this.#term === term && this.#mono() >= term.deadline) this.#publish();
    }, term.deadline - this.#mono());
  }

  #stepDown(reason: string): void {
    const term = this.#term;
    if (!term) return;
    this.#term = null;
    term.cancelTimer();
    term.controller.abort(new Error(`Stepped down: ${reason}`));
    this.#o.log.warn("Stepped down as leader", { revision: term.revision, reason });
  }

  #frozen(): boolean {
    return this.#mono() - this.#lastContact > this.#o.ttlMs;
  }

  #publish(): void {
    const term = this.#term;
    // Past the deadline the term's signal fires, so in-flight writes are aborted, not just abandoned.
    if (term && this.#mono() >= term.deadline && !term.controller.signal.aborted) {
      term.controller.abort(new Error("Leadership deadline passed"));
      term.controller = new AbortController();
    }
    this.#o.onChange?.(this.view());
  }
}

function parseLeader(kv: KeyValue | undefined): ClusterView["leader"] {
  if (!kv) return null;
  try {
    const holder = JSON.parse(kv.value) as { id?: unknown; url?: unknown }; // our own JSON; fields checked below
    return { id: String(holder.id ?? ""), url: String(holder.url ?? ""), revision: kv.createRevision };
  } catch {
    return null;
  }
}

function parseMember(kv: KeyValue): MemberInfo[] {
  try {
    const member = JSON.parse(kv.value) as { id?: unknown; url?: unknown; lastSeen?: unknown }; // our own JSON
    return [
      { id: String(member.id ?? ""), url: String(member.url ?? ""), lastSeen: Number(member.lastSeen ?? 0) },
    ];
  } catch {
    return [];
  }
}
