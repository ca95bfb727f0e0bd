/**
 * The coordinator as a SQLite-backed Durable Object (Cloudflare Workers): one object holds the store,
 * the alert outbox, the DNS reconciler and the app, and answers every request the Worker routes to it.
 * The config file's text (YAML or JSON) comes from the `HEALTHMESH_CONFIG` binding; the secrets it
 * names (API token, probe secrets, DNS tokens, alert URLs, etcd credentials) from Worker secrets.
 */
import { type Clock, systemClock } from "../shared/clock.ts";
import { type Logger, lineLogger } from "../shared/log.ts";
import { DurableOutbox } from "./alerts/outbox-durable.ts";
import { type Assembly, assemble, RouterTtlError } from "./assemble.ts";
import { type DurableSqlStorage, DurableStore } from "./store/durable.ts";
import {
  bindingOf,
  type CoordinatorEnv,
  CoordinatorSetupError,
  readConfig,
  readWorkerSecrets,
} from "./worker-setup.ts";

/** The part of `DurableObjectState` (@cloudflare/workers-types) the coordinator uses. */
export interface CoordinatorState {
  storage: DurableSqlStorage & {
    getAlarm(): Promise<number | null>;
    setAlarm(scheduledTime: number): Promise<void>;
  };
}

/** The coordinator Durable Object: opens on its first request or alarm, then serves the app. */
export class DurableCoordinator {
  readonly #state: CoordinatorState;
  readonly #env: CoordinatorEnv;
  readonly #log: Logger = lineLogger((line) => console.log(line), "coordinator: ");
  readonly #clock: Clock = systemClock();
  #opening: Promise<Assembly> | null = null;

  constructor(state: CoordinatorState, env: CoordinatorEnv) {
    this.#state = state;
    this.#env = env;
  }

  /** Routes a request to the coordinator's app. */
  async fetch(request: Request): Promise<Response> {
    let opened: Assembly;
    try {
      opened = await this.#open();
    } catch (error) {
      const setup = error instanceof CoordinatorSetupError;
      const message = error instanceof Error ? error.message : String(error);
      const code = setup ? "coordinator_misconfigured" : "coordinator_unavailable";
      return Response.json({ error: { code, message } }, { status: setup ? 500 : 503 });
    }
    return opened.app.fetch(request);
  }

  /**
   * The interval tick. Timers inside a Durable Object only run while it is awake, and an idle object
   * is evicted, so decision rounds, pulls and pruning ride on a storage alarm that wakes it again.
   */
  async alarm(): Promise<void> {
    const opened = await this.#open(); // a throw makes the runtime retry the alarm with backoff
    const interval = opened.coordinator.config.probes.interval;
    await this.#state.storage.setAlarm(this.#clock.now() + interval);
    await opened.tick(); // logs its faults: the next alarm is already set, and a retry would add a round
  }

  #open(): Promise<Assembly> {
    this.#opening ??= openCoordinator(this.#state, this.#env, { clock: this.#clock, log: this.#log }).catch(
      (error: unknown) => {
        this.#opening = null;
        this.#log.error("Cannot open the coordinator", { error: String(error) });
        throw error;
      },
    );
    return this.#opening;
  }
}

async function openCoordinator(
  state: CoordinatorState,
  bindings: CoordinatorEnv,
  { clock, log }: { clock: Clock; log: Logger },
): Promise<Assembly> {
  const config = readConfig(bindings);
  const env = bindingOf(bindings);
  const assembly = await assemble({
    ...readWorkerSecrets(config, env),
    config,
    env,
    clock,
    log,
    // Workers refuse a `fetch` called with another `this`, so it is wrapped, not passed as is.
    fetch: (input, init) => fetch(input, init),
    // The alarm drives rounds; an HA member's election runs on timers while the object is awake (docs/ha.md).
    ticks: "alarm",
    open: () => ({ local: new DurableStore(state.storage), outbox: new DurableOutbox(state.storage) }),
  }).catch((error: unknown) => {
    throw error instanceof RouterTtlError ? new CoordinatorSetupError(error.problems.join("; ")) : error;
  });
  assembly.start();
  // Arm the tick unless an alarm is already set (it survives restarts); the Worker's cron re-arms it too.
  if ((await state.storage.getAlarm()) === null)
    await state.storage.setAlarm(clock.now() + config.probes.interval);
  return assembly;
}
