/**
 * Shared plumbing of the deploy tests: the repository's build scripts, a loopback mesh whose
 * coordinator counts a push probe's votes, child processes that are always stopped, and systemd
 * unit files read as key/value lists.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { expect, vi } from "vitest";
import type { RunningCoordinator } from "../../coordinator/node.ts";
import { type Origin, startOrigin } from "../../demo/origins.ts";
import { meshConfig, meshEnv, secretEnv, type TestMember } from "../edges/fixtures.ts";
import { startTestCoordinator } from "../edges/runtimes.ts";

/** The repository root: the build context of the Dockerfiles and the cwd of the npm scripts. */
export const ROOT = resolve(import.meta.dirname, "../..");

/** Runs a shell command line from a Dockerfile RUN or the README in the repository root. */
export async function runInRepo(command: string): Promise<string> {
  const { stdout } = await promisify(execFile)("sh", ["-c", command], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: "1" },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/** A fresh temp dir that other users can read (the coordinator image drops to an unprivileged user). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

/** A running child process with its output, for failure messages. */
export interface Child {
  process: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

/** Spawns a command with exactly `env` (nothing inherited but what is passed). */
export function start(argv: string[], options: { cwd: string; env: Record<string, string> }): Child {
  const [command = "", ...args] = argv;
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  return {
    process: child,
    output: () => output,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const force = setTimeout(() => child.kill("SIGKILL"), 5000);
      child.kill("SIGTERM");
      await exited;
      clearTimeout(force);
    },
  };
}

/** A coordinator on loopback with one push-mode probe member and two origins, to count that probe's votes. */
export interface PushMesh {
  probeId: string;
  secret: string;
  coordinator: RunningCoordinator;
  /** The variables the coordinator reads: API token and probe secret. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/** Starts a push mesh for the probe `probeId`. */
export async function startPushMesh(probeId: string): Promise<PushMesh> {
  const origins: Origin[] = [await startOrigin("cf-front"), await startOrigin("cdn2-front")];
  const members: TestMember[] = [{ id: probeId, provider: "test", mode: "push" }];
  const env = meshEnv(members);
  const config = meshConfig({
    primaryUrl: `${origins[0]?.url}/healthz`,
    secondaryUrl: `${origins[1]?.url}/healthz`,
    members,
    interval: "500ms",
  });
  const coordinator = await startTestCoordinator(config, env);
  return {
    probeId,
    secret: env[secretEnv(probeId)] ?? "",
    coordinator,
    env,
    async close() {
      await coordinator.close();
      await Promise.all(origins.map((o) => o.close()));
    },
  };
}

/** Waits until the coordinator counts the probe's "up" vote on both endpoints of service "web". */
export async function expectVotesCounted(mesh: PushMesh, child: Child): Promise<void> {
  const votes = () => {
    const counted = mesh.coordinator.coordinator.verdicts("web").counted;
    return [...counted.primary, ...counted.secondary].map((v) => `${v.probe}:${v.vote}`);
  };
  try {
    await vi.waitFor(() => expect(votes()).toEqual([`${mesh.probeId}:up`, `${mesh.probeId}:up`]), {
      timeout: 20_000,
      interval: 50,
    });
  } catch (error) {
    throw new Error(`${(error as Error).message}\nprocess output:\n${child.output()}`);
  }
}

/** The minimal environment a service manager or container gives a process: a PATH and what it sets. */
export function bareEnv(extra: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", ...extra };
}

/** A systemd unit file as `Section.Key` → every value given, in order. */
export function readUnit(file: string): Map<string, string[]> {
  const unit = new Map<string, string[]>();
  let section = "";
  for (const raw of readFileSync(file, "utf8").split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header?.[1]) {
      section = header[1];
      continue;
    }
    const eq = line.indexOf("=");
    const key = `${section}.${line.slice(0, eq)}`;
    unit.set(key, [...(unit.get(key) ?? []), line.slice(eq + 1)]);
  }
  return unit;
}

/** The unit's `Environment=` assignments as one record. */
export function unitEnvironment(unit: Map<string, string[]>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const assignment of unit.get("Service.Environment") ?? []) {
    const eq = assignment.indexOf("=");
    env[assignment.slice(0, eq)] = assignment.slice(eq + 1);
  }
  return env;
}

/** Removes temp dirs, ignoring ones already gone. */
export function removeAll(dirs: string[]): void {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}

/**
 * Runs a build stage's `npm ci …` line with `--dry-run` in a directory holding only what the stage
 * copied before it (package.json and the lock file): npm refuses a lock file out of step with
 * package.json, which would fail the image build. Returns npm's output.
 */
export async function dryRunNpmCi(runLine: string): Promise<string> {
  const dir = tempDir("healthmesh-npm-ci-");
  try {
    for (const file of ["package.json", "package-lock.json"]) copyFileSync(join(ROOT, file), join(dir, file));
    const { stdout, stderr } = await promisify(execFile)("sh", ["-c", `${runLine} --dry-run`], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: "1" },
    });
    return stdout + stderr;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
