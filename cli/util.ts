/** Shared CLI plumbing: usage errors (exit 2), config loading with located problems, API calls. */
import { existsSync, readFileSync } from "node:fs";
import { type ConfigIssue, parseConfig } from "../shared/config.ts";
import type { Config } from "../shared/config-schema.ts";

/** Invalid input: bad flags or config. The CLI prints the message and exits 2. */
export class UsageError extends Error {}

/** Formats one config problem as `path (line N): message`. */
export function formatIssue(issue: ConfigIssue, file: string): string {
  const where = issue.line !== undefined ? `${file}:${issue.line}` : file;
  return `${issue.severity === "error" ? "error" : "warning"}: ${issue.path}: ${issue.message} (${where})`;
}

/** Reads and checks a config file; prints warnings to stderr; throws `UsageError` listing every problem. */
export function loadConfigFile(file: string, warn: (line: string) => void = (l) => console.error(l)): Config {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new UsageError(
      `Cannot read config "${file}": ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    ); // fs errors carry a code
  }
  const result = parseConfig(text);
  if (!result.ok) throw new UsageError(result.issues.map((i) => formatIssue(i, file)).join("\n"));
  for (const issue of result.warnings) warn(formatIssue(issue, file));
  return result.config;
}

/** Which operator token the CLI sends: the variable it is read from, its value, and the operator's name. */
export interface CliToken {
  name: string;
  value: string | undefined;
  /** The operator the token belongs to (for messages). */
  operator?: string;
}

/**
 * The operator token to send. `--as NAME` picks `coordinator.operators[]` NAME (or "operator", the
 * token in `coordinator.apiTokenEnv`); otherwise the first of those whose variable is set and whose
 * role allows `need` (`coordinator.apiTokenEnv` first). Without a readable config file:
 * `HEALTHMESH_API_TOKEN`. An explicitly named config must be valid.
 */
export function operatorToken(
  file: string,
  explicit: boolean,
  options: { as?: string | undefined; need?: "read" | "operate" } = {},
): CliToken {
  const fallback = { name: "HEALTHMESH_API_TOKEN", operator: "operator" };
  const config = explicit || existsSync(file) ? loadConfigFile(file, () => {}) : null;
  const candidates = config ? tokenCandidates(config) : [{ ...fallback, role: "operate" as const }];
  if (options.as !== undefined) {
    const chosen = candidates.find((c) => c.operator === options.as);
    if (!chosen)
      throw new UsageError(
        `Unknown operator "${options.as}" for --as: use one of ${candidates.map((c) => `"${c.operator}"`).join(", ")}`,
      );
    return { name: chosen.name, operator: chosen.operator, value: process.env[chosen.name] };
  }
  const allowed = candidates.filter((c) => options.need !== "operate" || c.role === "operate");
  const chosen = allowed.find((c) => process.env[c.name]) ?? allowed[0] ?? candidates[0] ?? fallback;
  return { name: chosen.name, operator: chosen.operator, value: process.env[chosen.name] };
}

function tokenCandidates(config: Config): { name: string; operator: string; role: "read" | "operate" }[] {
  const listed = (config.coordinator.operators ?? []).map((o) => ({
    name: o.tokenEnv,
    operator: o.name,
    role: o.role,
  }));
  const legacy = listed.some((o) => o.operator === "operator")
    ? []
    : [{ name: config.coordinator.apiTokenEnv, operator: "operator", role: "operate" as const }];
  return [...legacy, ...listed];
}

/** Calls the coordinator's operator API with the bearer token from the environment. */
export async function callApi(
  base: string,
  path: string,
  options: { method?: string; body?: unknown; token: CliToken },
): Promise<unknown> {
  if (!options.token.value) throw new UsageError(`Missing API token: set ${options.token.name}`);
  // Several coordinators (an HA cluster, CONTRACT §8): comma-separated, the first that answers is used.
  const bases = base.split(",").map((url) => url.trim());
  for (const url of bases) {
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
      throw new UsageError(`Invalid --coordinator URL "${url}": use http://host:port or https://host`);
    }
  }
  let response: Response | undefined;
  const failures: string[] = [];
  for (const url of bases) {
    try {
      response = await fetch(`${url.replace(/\/$/, "")}${path}`, {
        method: options.method ?? "GET",
        headers: { authorization: `Bearer ${options.token.value}`, "content-type": "application/json" },
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      });
      break;
    } catch (error) {
      const message = (error as Error).message; // fetch rejects with TypeError
      failures.push(bases.length === 1 ? message : `${url}: ${message}`);
    }
  }
  if (!response) {
    const where = bases.length === 1 ? "the coordinator at" : "any coordinator of";
    throw new Error(`Cannot reach ${where} ${base}: ${failures.join("; ")}`);
  }
  const text = await response.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // keep the text: the answer was not JSON
  }
  if (!response.ok) {
    const message = (json as { error?: { message?: string } })?.error?.message ?? text; // error bodies follow CONTRACT §6
    const fault = new Error(`Coordinator answered ${response.status}: ${message}`);
    if (response.status === 403)
      throw new UsageError(
        `${fault.message} (the token in ${options.token.name}${options.token.operator ? `, operator "${options.token.operator}"` : ""})`,
      );
    if (response.status === 400 || response.status === 404 || response.status === 409)
      throw new UsageError(fault.message);
    throw fault;
  }
  return json;
}
