/** What the Worker and its Durable Object read from the Worker's bindings: the config text and the secrets it names. */
import { parseConfig } from "../shared/config.ts";
import type { Config } from "../shared/config-schema.ts";
import { MissingSecretError, readSecrets, type Secrets } from "./secrets.ts";

/** The config or a secret it names is missing or invalid; the object answers 500 until it is fixed. */
export class CoordinatorSetupError extends Error {
  readonly retryable = false;
  override readonly name = "CoordinatorSetupError";
}

/** The Worker's bindings: vars and secrets are strings, the rest is ignored. */
export type CoordinatorEnv = Record<string, unknown>;

/** A binding's value when it is a string (a var or a secret). */
export function bindingOf(bindings: CoordinatorEnv): (name: string) => string | undefined {
  return (name) => {
    const value = bindings[name];
    return typeof value === "string" ? value : undefined;
  };
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
export function readWorkerSecrets(config: Config, env: (name: string) => string | undefined): Secrets {
  try {
    return readSecrets(config, env, { where: "worker" });
  } catch (error) {
    if (error instanceof MissingSecretError) throw new CoordinatorSetupError(error.message);
    throw error;
  }
}
