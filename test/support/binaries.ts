/**
 * External binaries for tests (pdns_server, chromium, etcd, promtool, …): found on the PATH, never
 * at fixed paths. A missing binary skips its tests on a developer machine (with a warning naming the
 * package to install) and FAILS the run when `CI` is set, so a suite cannot vanish silently in CI.
 */
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { describe, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");

/** How to look a binary up; `env` defaults to `process.env` (tests of this helper inject their own). */
export interface BinaryOptions {
  /** What to install when it is missing, e.g. "apt-get install pdns-server". */
  install: string;
  env?: Record<string, string | undefined>;
}

/** Thrown in CI when a test's binary is missing. */
export class MissingBinaryError extends Error {
  override name = "MissingBinaryError";
}

/** True when `CI` is set to anything but "", "0" or "false" (GitHub, GitLab and most CIs set CI=true). */
export function isCi(env: Record<string, string | undefined> = process.env): boolean {
  const value = (env.CI ?? "").trim().toLowerCase();
  return value !== "" && value !== "0" && value !== "false";
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The first executable named `name` (or any of the alternative names, in order) on the PATH, then in
 * the project's node_modules/.bin (where npm scripts find deno, workerd and wrangler); null if none.
 */
export function findBinary(
  name: string | readonly string[],
  env: Record<string, string | undefined> = process.env,
): string | null {
  const names = typeof name === "string" ? [name] : name;
  const dirs = [...(env.PATH ?? "").split(delimiter).filter(Boolean), join(ROOT, "node_modules/.bin")];
  for (const candidate of names) {
    for (const dir of dirs) {
      const path = join(dir, candidate);
      if (isExecutable(path)) return path;
    }
  }
  return null;
}

function missingMessage(name: string | readonly string[], install: string): string {
  const names = typeof name === "string" ? [name] : name;
  return `Cannot find ${names.map((n) => `"${n}"`).join(" or ")} on the PATH: ${install}`;
}

/**
 * The binary's path, or null when it is missing and the tests needing it should skip (a warning is
 * printed). With `CI` set a missing binary throws MissingBinaryError instead: the test file fails.
 */
export function requireBinary(name: string | readonly string[], options: BinaryOptions): string | null {
  const env = options.env ?? process.env;
  const path = findBinary(name, env);
  if (path) return path;
  const message = missingMessage(name, options.install);
  if (isCi(env)) throw new MissingBinaryError(`${message} (CI is set, so a missing binary fails the run)`);
  console.warn(`Skipping: ${message}`);
  return null;
}

/**
 * `describe(title, …)` with the binary's path: skipped (with a warning) when it is missing on a
 * developer machine; with `CI` set a missing binary is one failing test that names it.
 */
export function describeWithBinary(
  title: string,
  name: string | readonly string[],
  options: BinaryOptions,
  body: (path: string) => void,
): void {
  let path: string | null;
  try {
    path = requireBinary(name, options);
  } catch (error) {
    describe(title, () => {
      it(`needs ${typeof name === "string" ? name : name.join(" or ")}`, () => {
        throw error;
      });
    });
    return;
  }
  if (path === null) {
    // Only off CI (requireBinary returned null instead of throwing): a developer machine without the
    // binary sees the suite reported as skipped, with the install hint printed by requireBinary.
    describe.skip(title, () => body(""));
    return;
  }
  const found = path;
  describe(title, () => body(found));
}
