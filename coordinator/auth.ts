/**
 * Operator tokens (CONTRACT §3 `coordinator.operators`): each bearer token belongs to a named
 * operator with a role, `read` (status, events, the status page, metrics) or `operate` (also
 * failover, pause, resume). The audit log's `actor` is the token's name. Web APIs only.
 */
import type { Config } from "../shared/config-schema.ts";
import { constantTimeEqual } from "../shared/signing.ts";
import { HttpError } from "./http-error.ts";

/** What a token may do; `operate` includes `read`. */
export type OperatorRole = "read" | "operate";

/** One operator's token, as the coordinator holds it. */
export interface OperatorToken {
  name: string;
  role: OperatorRole;
  token: string;
}

/** The name `coordinator.apiTokenEnv`'s token acts under. */
export const LEGACY_OPERATOR = "operator";

/** A token the config names is missing from the environment, or two operators share one. */
export class OperatorSetupError extends Error {
  override name = "OperatorSetupError";
}

/**
 * The operators' tokens from the environment: each of `coordinator.operators`, plus the token in
 * `coordinator.apiTokenEnv` as an `operate` operator named "operator" (required when no operators are
 * listed; used when set otherwise, unless an operator of that name is listed).
 */
export function operatorTokens(config: Config, env: (name: string) => string | undefined): OperatorToken[] {
  const listed = config.coordinator.operators ?? [];
  const tokens: OperatorToken[] = listed.map((operator, i) => {
    const token = env(operator.tokenEnv);
    if (!token)
      throw new OperatorSetupError(
        `Missing operator token: set ${operator.tokenEnv} (coordinator.operators[${i}].tokenEnv, operator "${operator.name}")`,
      );
    return { name: operator.name, role: operator.role, token };
  });
  const legacy = env(config.coordinator.apiTokenEnv);
  if (legacy && !listed.some((operator) => operator.name === LEGACY_OPERATOR))
    tokens.push({ name: LEGACY_OPERATOR, role: "operate", token: legacy });
  if (tokens.length === 0)
    throw new OperatorSetupError(
      `Missing API token: set the environment variable ${config.coordinator.apiTokenEnv} (coordinator.apiTokenEnv), or list coordinator.operators`,
    );
  for (const [i, a] of tokens.entries())
    for (const b of tokens.slice(i + 1))
      if (a.token === b.token)
        throw new OperatorSetupError(
          `Operators "${a.name}" and "${b.name}" have the same token: give each its own, so that the audit log can tell them apart`,
        );
  return tokens;
}

/** Checks bearer tokens against the operators' tokens, in time that does not depend on which matched. */
export class OperatorAuth {
  readonly #tokens: readonly OperatorToken[];

  constructor(tokens: readonly OperatorToken[]) {
    this.#tokens = tokens;
  }

  /** The operator whose token is in `Authorization: Bearer <token>`; throws 401 otherwise. */
  authenticate(header: string | undefined): OperatorToken {
    const match = /^Bearer\s+(.+)$/i.exec(header ?? "");
    if (!match?.[1])
      throw new HttpError(401, "unauthorized", "Missing bearer token: send Authorization: Bearer <token>");
    const presented = match[1].trim();
    let found: OperatorToken | undefined;
    // Every token is compared, whichever matches, so timing tells nothing about which one (or how much) matched.
    for (const operator of this.#tokens) if (constantTimeEqual(presented, operator.token)) found ??= operator;
    if (!found) throw new HttpError(401, "unauthorized", "Invalid bearer token");
    return found;
  }

  /** The operator, when their role allows `role` (401 for no or a wrong token, 403 for a `read` token that mutates). */
  require(header: string | undefined, role: OperatorRole, what: string): OperatorToken {
    const operator = this.authenticate(header);
    if (role === "operate" && operator.role !== "operate")
      throw new HttpError(
        403,
        "forbidden",
        `Operator "${operator.name}" has the read role: ${what} needs an operate token`,
      );
    return operator;
  }
}
