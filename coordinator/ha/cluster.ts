/**
 * One coordinator's membership of an HA cluster (CONTRACT §8): the election, the shared ledger,
 * the fenced provider `fetch`, and the loop that keeps this member's view of the services current.
 */

import type { ClusterStatus } from "../../shared/api-schema.ts";
import type { Clock } from "../../shared/clock.ts";
import type { Config } from "../../shared/config-schema.ts";
import type { Logger } from "../../shared/log.ts";
import type { Endpoint } from "../../shared/protocol.ts";
import type { DesiredTarget, Reconciler } from "../dns/reconciler.ts";
import type { ServiceState } from "../engine.ts";
import type { NewEvent, Store } from "../store/store.ts";
import { fencedFetch } from "./dns-fence.ts";
import type { Etcd } from "./etcd.ts";
import { etcdClient } from "./etcd-client.ts";
import { HaStore } from "./ha-store.ts";
import { type ClusterView, Leadership } from "./leadership.ts";
import { EtcdLedger } from "./ledger.ts";
import { ProviderBoard } from "./provider-board.ts";

/** What the cluster membership acts on: the running coordinator. */
export interface ClusterMember {
  /** Replaces service states that another member changed in the ledger (`pick` runs in its queue). */
  adopt(pick: () => ServiceState[]): Promise<void>;
  /** Its DNS reconciler: a new leader starts a round on every provider at once; a follower shows the leader's rows. */
  reconciler: Pick<Reconciler, "kick" | "states" | "desired" | "follow">;
  /** Records an event in this member's own audit log (and its own alert outbox). */
  recordEvent(event: NewEvent): Promise<void>;
}

/** What joining needs. */
export interface JoinOptions {
  config: Config;
  ha: NonNullable<Config["coordinator"]["ha"]>;
  env: (name: string) => string | undefined;
  fetch: typeof fetch;
  clock: Clock;
  monotonic?: () => number;
  log: Logger;
  /** This member's own store (votes, replay ids, audit log, outbox). */
  local: Store;
  /** An etcd to use instead of the JSON-gateway client built from the config (in-process tests). */
  etcd?: Etcd;
}

/** A member of the cluster; `attach` it to the coordinator once that is open. */
export interface Cluster {
  store: HaStore;
  /** The `fetch` DNS providers must use: every request fenced by this member's leadership. */
  providerFetch: typeof fetch;
  leadership: Leadership;
  /** Whether this member may decide and write DNS right now. */
  leads(): boolean;
  view(): ClusterView;
  /** The `cluster` part of `/v1/status`. */
  status(): ClusterStatus;
  /** Whether an event's alert leaves from this member: decisions from the leader, its own state from each. */
  alertsHere(event: { type: string }): boolean;
  attach(member: ClusterMember, options: { longestRequestMs: number }): void;
  stop(): Promise<void>;
}

/** Joins the cluster: builds the etcd client, the ledger and the election (not started until `attach`). */
export function joinCluster(options: JoinOptions): Cluster {
  const { ha, config, clock, log } = options;
  const username = ha.etcd.usernameEnv ? options.env(ha.etcd.usernameEnv) : undefined;
  const password = ha.etcd.passwordEnv ? options.env(ha.etcd.passwordEnv) : undefined;
  const etcd =
    options.etcd ??
    etcdClient({
      endpoints: ha.etcd.endpoints,
      fetch: options.fetch,
      clock,
      timeoutMs: ha.etcd.requestTimeout ?? Math.max(500, ha.etcd.leaseTtl / 4),
      ...(username !== undefined && password !== undefined ? { auth: { username, password } } : {}),
    });
  const ledger = new EtcdLedger(etcd, { prefix: ha.etcd.prefix, self: ha.id });
  let paths = new Map<string, { primary: string; secondary: string }>();
  const board = new ProviderBoard(etcd, {
    prefix: ha.etcd.prefix,
    self: ha.id,
    targets: (router) => paths.get(router),
  });
  let member: ClusterMember | null = null;
  let longestRequestMs = 10_000;
  let previous: ClusterView | null = null;
  let syncing: Promise<void> | null = null;
  const leadership = new Leadership({
    etcd,
    prefix: ha.etcd.prefix,
    id: ha.id,
    url: ha.url,
    ttlMs: ha.etcd.leaseTtl,
    clock,
    log,
    ...(options.monotonic ? { monotonic: options.monotonic } : {}),
    onChange: (view) => {
      const before = previous;
      previous = view;
      const m = member;
      if (!m) return;
      if (before && before.frozen !== view.frozen) {
        void m
          .recordEvent(frozenEvent(view, clock.now(), ha.id))
          .catch((error: unknown) =>
            log.error("Cannot record the control plane's state", { error: String(error) }),
          );
      }
      if (view.isLeader && !before?.isLeader) takeover = true;
      // One ledger read at a time: while etcd is slow, reads do not pile up behind each other.
      if (!syncing) syncing = sync(m).finally(() => (syncing = null));
    },
  });
  let takeover = false;
  const sync = async (m: ClusterMember) => {
    do {
      const kick = takeover;
      takeover = false;
      try {
        await ledger.load();
        await m.adopt(() => {
          // Only entries newer than what this member's state is based on: never its own older write.
          const newer = ledger.newer();
          ledger.adopted(newer);
          return newer.map((e) => e.state);
        });
      } catch (error) {
        log.warn("Cannot read the service ledger", { error: String(error) });
      }
      if (kick) {
        // A new leader converges every provider at once, then looks again once a predecessor's
        // request could no longer be in flight, and puts back what such a late write changed.
        m.reconciler.kick();
        clock.setTimer(() => m.reconciler.kick(), longestRequestMs);
      }
      // After the kick: a new leader's DNS convergence never waits for this etcd write.
      await shareProviders(m, kick);
    } while (takeover);
  };
  // The leader publishes its providers' rows when they change; a follower reads them each round.
  const shareProviders = async (m: ClusterMember, newTerm: boolean) => {
    try {
      if (newTerm) board.forget();
      const fence = leadership.current();
      if (fence) await board.publish(m.reconciler.states(), fence, clock.now());
      else await board.load();
    } catch (error) {
      log.warn("Cannot share the DNS providers' state", { error: String(error) });
    }
  };
  const targetOf = (service: string, active: Endpoint) =>
    config.services.find((s) => s.name === service)?.[active].target;
  const store = new HaStore({
    local: options.local,
    ledger,
    fence: () => leadership.current(),
    targetOf,
    now: () => clock.now(),
  });
  const decision = () => Math.max(0, ...[...ledger.entries().values()].map((e) => e.decision));
  return {
    store,
    providerFetch: fencedFetch(options.fetch, leadership, decision),
    leadership,
    leads: () => leadership.current() !== null,
    view: () => leadership.view(),
    status: () => clusterStatus(leadership.view()),
    alertsHere: (event) => LOCAL_ALERTS.has(event.type) || leadership.current() !== null,
    attach(m, attachOptions) {
      member = m;
      paths = pathTargets(config, m.reconciler.desired());
      m.reconciler.follow((provider) => board.rows(provider, m.reconciler.desired()));
      longestRequestMs = attachOptions.longestRequestMs;
      leadership.start();
    },
    stop: () => leadership.stop(),
  };
}

/** Events every member alerts from its own outbox: its view of the control plane, and operator actions taken on it. */
const LOCAL_ALERTS = new Set(["control-plane.frozen", "control-plane.resumed", "pin", "pause", "resume"]);

/** The longest a provider request may take (a predecessor's write may land that late). */
export function longestRequest(config: Config): number {
  const timeouts = Object.values(config.providers).map((p) => (p && "timeout" in p ? p.timeout : 10_000));
  const known = timeouts.filter((t): t is number => typeof t === "number");
  return known.length > 0 ? Math.max(...known) : 10_000;
}

/** Per router, its service's two targets (what the providers' summaries point at). */
function pathTargets(
  config: Config,
  desired: readonly DesiredTarget[],
): Map<string, { primary: string; secondary: string }> {
  const byService = new Map(config.services.map((s) => [s.name, s]));
  const byRouter = new Map<string, { primary: string; secondary: string }>();
  for (const d of desired) {
    const svc = byService.get(d.service);
    if (svc) byRouter.set(d.router, { primary: svc.primary.target, secondary: svc.secondary.target });
  }
  return byRouter;
}

function frozenEvent(view: ClusterView, now: number, self: string): NewEvent {
  return view.frozen
    ? {
        at: now,
        type: "control-plane.frozen",
        message: `Control plane frozen: coordinator "${self}" has no etcd quorum; nobody switches and DNS keeps the last decision`,
      }
    : {
        at: now,
        type: "control-plane.resumed",
        message: `Control plane resumed: coordinator "${self}" reaches an etcd quorum again`,
      };
}

/** The `cluster` part of `/v1/status` from this member's view. */
export function clusterStatus(view: ClusterView): ClusterStatus {
  const leader = view.isLeader ? view.self : (view.leader?.id ?? null);
  return {
    self: view.self,
    leader,
    frozen: view.frozen,
    members: view.members.map((m) => ({
      id: m.id,
      url: m.url,
      lastSeen: m.lastSeen > 0 ? new Date(m.lastSeen).toISOString() : null,
      leader: m.id === leader,
    })),
  };
}
