/** Shared CLI plumbing: usage errors (exit 2), config loading with located problems, API calls. */
import { readFileSync } from "node:fs";
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

/** Calls the coordinator's operator API with the bearer token from the environment. */
export async function callApi(
  base: string,
  path: string,
  options: { method?: string; body?: unknown; token: string | undefined },
): Promise<unknown> {
  if (!options.token) throw new UsageError("Missing API token: set HEALTHMESH_API_TOKEN");
  let response: Response;
  try {
    response = await fetch(`${base.replace(/\/$/, "")}${path}`, {
      method: options.method ?? "GET",
      headers: { authorization: `Bearer ${options.token}`, "content-type": "application/json" },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
  } catch (error) {
    throw new Error(`Cannot reach the coordinator at ${base}: ${(error as Error).message}`); // fetch rejects with TypeError
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
    if (response.status === 400 || response.status === 404 || response.status === 409)
      throw new UsageError(fault.message);
    throw fault;
  }
  return json;
}
