/** The secrets a config names (operator tokens, probe secrets), read the same way on every runtime. */
import type { Config } from "../shared/config-schema.ts";
import { OperatorSetupError, type OperatorToken, operatorTokens } from "./auth.ts";

/** A secret the config names is missing; the message says which variable to set. */
export class MissingSecretError extends Error {
  readonly retryable = false;
  override readonly name = "MissingSecretError";
}

/** The operators' tokens and a lookup of each probe's signing secret. */
export interface Secrets {
  operators: OperatorToken[];
  secretFor: (probeId: string) => string | undefined;
}

/**
 * Reads the operator tokens and every probe member's secret; throws `MissingSecretError` naming the
 * first one missing. `where: "worker"` words the message for a Worker secret instead of a variable.
 */
export function readSecrets(
  config: Config,
  env: (name: string) => string | undefined,
  options: { where?: "env" | "worker" } = {},
): Secrets {
  const worker = options.where === "worker";
  let operators: OperatorToken[];
  try {
    operators = operatorTokens(config, env);
  } catch (error) {
    if (error instanceof OperatorSetupError)
      throw new MissingSecretError(worker ? `${error.message} (a Worker secret)` : error.message);
    throw error;
  }
  const secrets = new Map<string, string>();
  config.probes.members.forEach((member, i) => {
    const secret = env(member.secretEnv);
    if (!secret)
      throw new MissingSecretError(
        `Missing probe secret: set ${worker ? "the Worker secret " : ""}${member.secretEnv} (probes.members[${i}].secretEnv, probe "${member.id}")`,
      );
    secrets.set(member.id, secret);
  });
  return { operators, secretFor: (id) => secrets.get(id) };
}
