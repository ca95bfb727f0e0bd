/**
 * Node-only wiring of the nameserver watch: the UDP/TCP client, the providers' nameservers, and the
 * kicks — a decision or a confirmed write starts a check at once, so the time until every provider's
 * nameservers serve the decision is seen within `fastMs` of it.
 */
import type { Clock } from "../../shared/clock.ts";
import type { Logger } from "../../shared/log.ts";
import type { Coordinator } from "../coordinator.ts";
import type { AuditEvent } from "../store/store.ts";
import type { NameserverClient } from "./nameserver.ts";
import { nameserverSources } from "./nameserver-sources.ts";
import { UdpNameserverClient } from "./nameserver-udp.ts";
import { NameserverWatch } from "./nameserver-watch.ts";

/** Events after which the nameservers are asked again at once. */
const KICKS = new Set(["failover", "failback", "pin", "dns.switched", "dns.drift"]);

/** A started watch and the listener that kicks it. */
export interface RunningWatch {
  watch: NameserverWatch | null;
  onEvents(events: readonly AuditEvent[]): void;
  stop(): Promise<void>;
}

/** Starts the watch for an open coordinator (or records why it is off) and attaches it for status. */
export function startNameserverWatch(
  coordinator: Coordinator,
  world: {
    env: (name: string) => string | undefined;
    fetch: typeof fetch;
    clock: Clock;
    log: Logger;
    client?: NameserverClient;
  },
): RunningWatch {
  const config = coordinator.config;
  const settings = config.nameserverChecks;
  if (!settings.enabled) {
    coordinator.nameservers = {
      off: "Nameserver checks are off (nameserverChecks.enabled: false)",
      serving: () => [],
      providers: () => ({}),
    };
    return { watch: null, onEvents: () => {}, stop: async () => {} };
  }
  const client = world.client ?? new UdpNameserverClient();
  const watch = new NameserverWatch({
    providers: nameserverSources(config, { ...world, client }),
    client,
    desired: () => coordinator.reconciler.desired(),
    apiStates: () => coordinator.reconciler.states(),
    record: (event) => coordinator.recordEvent(event),
    recheck: (provider) => coordinator.reconciler.kick(provider),
    clock: world.clock,
    log: world.log,
    intervalMs: settings.interval,
    lagAfterMs: settings.lagAfter,
    timeoutMs: settings.timeout,
  });
  coordinator.nameservers = watch;
  coordinator.reconciler.setDriftPolicy((provider) => (watch.covers(provider) ? null : undefined));
  watch.start();
  return {
    watch,
    onEvents: (events) => {
      if (events.some((e) => KICKS.has(e.type))) watch.kick();
    },
    // Not waiting for a check in flight: a resolver lookup of an unreachable nameserver must not delay shutdown.
    stop: async () => watch.stop(),
  };
}
