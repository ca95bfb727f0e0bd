/**
 * The coordinator as a SQLite-backed Durable Object (Cloudflare Workers): one object holds the store,
 * the alert outbox, the DNS reconciler and the app, and answers every request the Worker routes to it.
 * The config file's text (YAML or JSON) comes from the `HEALTHMESH_CONFIG` binding; the secrets it
 * names (API token, probe secrets, DNS tokens, alert URLs) from Worker secrets of those names.
 */
import { type Clock, systemClock } from "../shared/clock.ts";
import { parseConfig } from "../shared/config.ts";
import type { Config } from "../shared/config-schema.ts";
import { type Logger, lineLogger } from "../shared/log.ts";
import type { Report } from "../shared/protocol.ts";
import { startAlerts } from "./alerts/alerts.ts";
import { destinationNames } from "./alerts/factory.ts";
import { DurableOutbox } from "./alerts/outbox-durable.ts";
import { buildApp } from "./app.ts";
import { OperatorSetupError, type OperatorToken, operatorTokens } from "./auth.ts";
import { Coordinator } from "./coordinator.ts";
import { createProviders } from "./dns/factory.ts";
import { routerTtlProblems } from "./dns/preflight.ts";
import { CoordinatorMetrics } from "./metrics.ts";
import { PullLoop } from "./pull.ts";
import { Retention } from "./retention.ts";
import { refusalReasons } from "./routes/probes.ts";
import { type DurableSqlStorage, DurableStore } from "./store/durable.ts";

/** The Worker's bindings as the object sees them: vars and secrets are strings, the rest is ignored. */
export type CoordinatorEnv = Record<string, unknown>;

/** The part of `DurableObjectState` (@cloudflare/workers-types) the coordinator uses. */
export interface CoordinatorState {
  storage: DurableSqlStorage & {
    getAlarm(): Promise<number | null>;
    setAlarm(scheduledTime: number): Promise<void>;
  };
}

/** The config or a secret it names is missing or invalid; the object answers 500 until it is fixed. */
export class CoordinatorSetupError extends Error {
  readonly retryable = false;
  override readonly name = "CoordinatorSetupError";
}

/** What an open coordinator object holds. */
interface Opened {
  config: Config;
  clock: Clock;
  coordinator: Coordinator;
  retention: Retention;
  pulls: PullLoop;
  fetch: (request: Request) => Response | Promise<Response>;
}

/** Pruning batches per alarm: a backlog (a lowered retention) clears over a few alarms, none of them long. */
const PRUNE_BATCHES_PER_ALARM = 10;

/** The coordinator Durable Object: opens on its first request or alarm, then serves the app. */
export class DurableCoordinator {
  readonly #state: CoordinatorState;
  readonly #env: CoordinatorEnv;
  readonly #log: Logger = lineLogger((line) => console.log(line), "coordinator: ");
  #opening: Promise<Opened> | null = null;

  constructor(state: CoordinatorState, env: CoordinatorEnv) {
    this.#state = state;
    this.#env = env;
  }

  /** Routes a request to the coordinator's app. */
  async fetch(request: Request): Promise<Response> {
    let opened: Opened;
    try {
      opened = await this.#open();
    } catch (error) {
      const setup = error instanceof CoordinatorSetupError;
      const message = error instanceof Error ? error.message : String(error);
      const code = setup ? "coordinator_misconfigured" : "coordinator_unavailable";
      return Response.json({ error: { code, message } }, { status: setup ? 500 : 503 });
    }
    return opened.fetch(request);
  }

  /**
   * The interval tick. Timers inside a Durable Object only run while it is awake, and an idle object
   * is evicted, so decision rounds, pulls and pruning ride on a storage alarm that wakes it again.
   */
  async alarm(): Promise<void> {
    const opened = await this.#open(); // a throw makes the runtime retry the alarm with backoff
    const now = opened.clock.now();
    await this.#state.storage.setAlarm(now + opened.config.probes.interval);
    // Faults are logged, not thrown: the next alarm is already set, and a retried alarm would add a round.
    const logged = (what: string) => (error: unknown) => this.#log.error(what, { error: String(error) });
    await Promise.all([
      opened.coordinator.evaluate().catch(logged("Decision round failed")),
      opened.retention
        .catchUp({ maxBatches: PRUNE_BATCHES_PER_ALARM })
        .catch(logged("Cannot prune past retention")),
      opened.pulls.round(),
    ]);
  }

  #open(): Promise<Opened> {
    this.#opening ??= openCoordinator(this.#state, this.#env, this.#log).catch((error: unknown) => {
      this.#opening = null;
      this.#log.error("Cannot open the coordinator", { error: String(error) });
      throw error;
    });
    return this.#opening;
  }
}

/** Parses `HEALTHMESH_CONFIG`; throws `CoordinatorSetupError` naming what to fix. */
export function readConfig(env: CoordinatorEnv): Config {
  const text = env.HEALTHMESH_CONFIG;
  if (typeof text !== "string" || text.trim() === "")
    throw new CoordinatorSetupError(
      "Missing config: set the HEALTHMESH_CONFIG var or secret to the text of healthmesh.yaml",
    );
  const parsed = parseConfig(text);
  if (!parsed.ok)
    throw new CoordinatorSetupError(
      `Invalid config in HEALTHMESH_CONFIG: ${parsed.issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`,
    );
  return parsed.config;
}

/** Reads the operator tokens and the probe secrets the config names; throws `CoordinatorSetupError` naming a missing one. */
export function readSecrets(config: Config, env: (name: string) => string | undefined) {
  let operators: OperatorToken[];
  try {
    operators = operatorTokens(config, env);
  } catch (error) {
    if (error instanceof OperatorSetupError)
      throw new CoordinatorSetupError(`${error.message} (a Worker secret)`);
    throw error;
  }
  const secrets = new Map<string, string>();
  config.probes.members.forEach((member, i) => {
    const secret = env(member.secretEnv);
    if (!secret)
      throw new CoordinatorSetupError(
        `Missing probe secret: set the Worker secret ${member.secretEnv} (probes.members[${i}].secretEnv, probe "${member.id}")`,
      );
    secrets.set(member.id, secret);
  });
  return { operators, secretFor: (id: string) => secrets.get(id) };
}

async function openCoordinator(
  state: CoordinatorState,
  bindings: CoordinatorEnv,
  log: Logger,
): Promise<Opened> {
  const config = readConfig(bindings);
  const env = (name: string) => {
    const value = bindings[name];
    return typeof value === "string" ? value : undefined;
  };
  const { operators, secretFor } = readSecrets(config, env);
  const clock = systemClock();
  // Workers refuse a `fetch` called with another `this`, so it is wrapped, not passed as is.
  const world = { fetch: (input: RequestInfo | URL, init?: RequestInit) => fetch(input, init), clock, log };
  const providers = createProviders(config, { env, fetch: world.fetch, clock });
  const ttlProblems = await routerTtlProblems(config, providers, { clock, log });
  if (ttlProblems.length > 0) throw new CoordinatorSetupError(ttlProblems.join("; "));
  const store = new DurableStore(state.storage);
  const metrics = new CoordinatorMetrics({ refusalReasons, destinations: destinationNames(config.alerts) });
  const outbox = new DurableOutbox(state.storage);
  const alerts = await startAlerts({
    counters: metrics.alerts,
    config,
    env,
    outbox,
    store,
    ...world,
  });
  const coordinator = await Coordinator.open({
    config,
    store,
    providers,
    onEvents: (events) => alerts.enqueue(events),
    ...world,
  });
  alerts.watch(coordinator);
  const ingest = async (request: Request) => app.fetch(request);
  const pulls = new PullLoop({ coordinator, secretFor, ingest, ...world });
  // Every accepted report may call for pull members to confirm a suspected failure at once.
  const onAccepted = (_probe: string, report: Report) => pulls.noticeReport(report);
  const app = buildApp({ metrics, coordinator, operators, secretFor, onAccepted, ...world });
  // Arm the tick unless an alarm is already set (it survives restarts); the Worker's cron re-arms it too.
  if ((await state.storage.getAlarm()) === null)
    await state.storage.setAlarm(clock.now() + config.probes.interval);
  const retention = new Retention({
    store,
    outbox,
    eventsDoneThrough: () => alerts.eventsDoneThrough(),
    retention: config.coordinator.retention,
    clock,
    log,
  });
  return { config, clock, coordinator, retention, pulls, fetch: app.fetch };
}
