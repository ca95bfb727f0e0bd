/** Real processes for the chaos suite: the healthmesh CLI as a child, polled over its HTTP API. */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const BIN = new URL("../../bin/healthmesh.mjs", import.meta.url).pathname;
/** The operator token every chaos coordinator runs with. */
export const TOKEN = "chaos-operator-token";

/** A CLI child with its combined output. */
export interface Child {
  child: ChildProcess;
  output(): string;
  /** Sends a signal and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Cleanups run after a file's scenarios; children are SIGKILLed first. */
export class Cleanup {
  readonly #children: Child[] = [];
  readonly #steps: (() => Promise<unknown> | unknown)[] = [];

  add(step: () => Promise<unknown> | unknown): void {
    this.#steps.push(step);
  }

  child(child: Child): Child {
    this.#children.push(child);
    return child;
  }

  async run(): Promise<void> {
    await Promise.all(this.#children.splice(0).map((c) => c.kill("SIGKILL")));
    for (const step of this.#steps.splice(0).reverse()) await step();
  }
}

/** Starts `healthmesh ARGS` with extra environment. */
export function runCli(args: string[], env: Record<string, string>): Child {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    child,
    output: () => output,
    async kill(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** Polls `probe` every 50 ms until it returns a value; throws with `what` and the last output after `timeoutMs`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  options: { timeoutMs?: number; context?: () => string } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for ${what}${options.context ? `\n${options.context()}` : ""}`);
    }
    await sleep(50);
  }
}

/** Real-time wait: for scenarios that must show nothing happens over a span of wall-clock intervals. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A running coordinator process. */
export interface CoordinatorProcess extends Child {
  base: string;
  dataDir: string;
  /** Starts a new process on the same config, data dir and port (after a kill). */
  restart(): Promise<CoordinatorProcess>;
}

/** Writes `yaml` to a temp dir and starts `healthmesh coordinator` on it; resolves once it listens. */
export async function startCoordinator(
  yaml: string,
  env: Record<string, string>,
  cleanup: Cleanup,
  options: { port?: string } = {},
): Promise<CoordinatorProcess> {
  const dir = mkdtempSync(join(tmpdir(), "hm-chaos-"));
  cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
  const configFile = join(dir, "healthmesh.yaml");
  writeFileSync(configFile, yaml);
  const dataDir = join(dir, "data");
  const launch = async (port: string): Promise<CoordinatorProcess> => {
    const args = ["coordinator", "--config", configFile, "--port", port, "--data", dataDir];
    const child = cleanup.child(runCli(args, { HEALTHMESH_API_TOKEN: TOKEN, ...env }));
    const base = await until(
      "the coordinator to listen",
      () => {
        if (child.child.exitCode !== null) throw new Error(`The coordinator exited: ${child.output()}`);
        return /listening on (http:\/\/\S+)/.exec(child.output())?.[1];
      },
      { context: child.output },
    );
    return { ...child, base, dataDir, restart: () => launch(new URL(base).port) };
  };
  return launch(options.port ?? "0");
}

/** Starts a push probe process against `base`. */
export function startProbe(id: string, secret: string, base: string, cleanup: Cleanup): Child {
  return cleanup.child(
    runCli(["probe", "--id", id, "--coordinator", base], { HEALTHMESH_PROBE_SECRET: secret }),
  );
}

/** `GET` (or `POST` with a JSON body) an operator route; undefined while the coordinator is down or answers non-2xx. */
export async function api<T>(base: string, path: string, body?: unknown): Promise<T | undefined> {
  try {
    const response = await fetch(`${base}${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return response.ok ? ((await response.json()) as T) : undefined; // our own API's documented shape
  } catch {
    return undefined;
  }
}
