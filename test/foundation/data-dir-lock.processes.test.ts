/**
 * The data-directory lock with real processes: a coordinator CLI started through `sh -c`, killed
 * with SIGKILL while its wrapper has not reaped it yet (a zombie), must not block an immediate
 * restart; a PID file naming a live, unrelated process must not block a start; a second live
 * coordinator on the same directory is refused with exit 2, even when the PID file was removed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";

const BIN = new URL("../../bin/healthmesh.mjs", import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), "hm-lock-"));
const configFile = join(root, "healthmesh.yaml");
writeFileSync(
  configFile,
  `zone: example.com
providers:
  memory: {}
services:
  - name: web
    router: web-router
    primary: { target: a.example.com., check: { url: "http://127.0.0.1:9/healthz" } }
    secondary: { target: b.example.com., check: { url: "http://127.0.0.1:9/healthz" } }
probes:
  members:
    - { id: p1, provider: fly, secretEnv: S1 }
`,
);
const ENV = { ...process.env, HEALTHMESH_API_TOKEN: "t", S1: "s1" };
const started: ChildProcess[] = [];
const pids: number[] = [];

afterEach(() => {
  for (const pid of pids.splice(0)) signal(pid, "SIGKILL");
  for (const child of started.splice(0)) {
    if (child.pid) signal(child.pid, "SIGCONT");
    child.kill("SIGKILL");
  }
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function signal(pid: number, name: NodeJS.Signals): void {
  if (!Number.isInteger(pid) || pid <= 0) return; // never 0 or -1: that would signal this test's own group
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

/** Runs `command` through `sh -c`, as a wrapper (npx, a shell script) would; collects its output. */
function shell(command: string): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const child = spawn("sh", ["-c", command], { env: ENV, stdio: ["ignore", "pipe", "pipe"] });
  started.push(child);
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => output, exit };
}

/** The coordinator command line for `dir`; `; echo` keeps sh as the parent instead of exec'ing node. */
function coordinatorCommand(dir: string): string {
  return `"${process.execPath}" "${BIN}" coordinator --config "${configFile}" --port 0 --data "${dir}"; echo "sh: coordinator exited $?"`;
}

async function until(what: string, test: () => boolean, output: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The PID of sh's only child (the coordinator), read from /proc; remembered so that afterEach kills it. */
function childOf(shPid: number): number {
  const children = readFileSync(`/proc/${shPid}/task/${shPid}/children`, "utf8").trim().split(/\s+/);
  expect(children).toHaveLength(1);
  const pid = Number(children[0]);
  expect(pid).toBeGreaterThan(1);
  pids.push(pid);
  return pid;
}

function state(pid: number): string {
  return /State:\s+(\S)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? "?";
}

async function startListening(dir: string) {
  const run = shell(coordinatorCommand(dir));
  await until(
    "the coordinator to listen or exit",
    () => /listening on|coordinator exited/.test(run.output()),
    run.output,
  );
  expect(run.output()).toMatch(/listening on/);
  return run;
}

describe("the data-directory lock", () => {
  it("lets a coordinator restart at once after kill -9, while the killed one is still a zombie of its wrapper", async () => {
    const dir = join(root, "zombie");
    const first = await startListening(dir);
    const shPid = first.child.pid ?? 0;
    const coordinatorPid = childOf(shPid);
    // Stop the wrapper so that it cannot reap its child: the killed coordinator stays a zombie.
    process.kill(shPid, "SIGSTOP");
    process.kill(coordinatorPid, "SIGKILL");
    await until("the coordinator to be a zombie", () => state(coordinatorPid) === "Z", first.output);
    const second = await startListening(dir);
    expect(second.output()).not.toContain("in use");
    childOf(second.child.pid ?? 0); // afterEach kills it
  });

  it("starts when a stale PID file names a live process that is not a coordinator", async () => {
    const dir = join(root, "reused-pid");
    mkdirSync(dir, { recursive: true });
    const unrelated = spawn("sleep", ["60"], { stdio: "ignore" });
    started.push(unrelated);
    writeFileSync(join(dir, "coordinator.pid"), `${unrelated.pid}\n`); // as after a reboot reused the PID
    const run = await startListening(dir);
    expect(run.output()).not.toContain("in use");
    childOf(run.child.pid ?? 0); // afterEach kills it
  });

  it("refuses a second live coordinator on the same directory with exit 2, even with its PID file removed", async () => {
    const dir = join(root, "second");
    const first = await startListening(dir);
    const firstPid = childOf(first.child.pid ?? 0);
    const second = shell(coordinatorCommand(dir));
    await until(
      "the second coordinator to exit",
      () => /coordinator exited/.test(second.output()),
      second.output,
    );
    expect(second.output()).toContain("sh: coordinator exited 2");
    expect(second.output()).toContain(
      `Data directory "${dir}" is in use by the coordinator with PID ${firstPid}`,
    );
    rmSync(join(dir, "coordinator.pid"), { force: true }); // a tidy-up script, or a user, removed it
    const third = shell(coordinatorCommand(dir));
    await until(
      "the third coordinator to exit",
      () => /coordinator exited/.test(third.output()),
      third.output,
    );
    expect(third.output()).toContain("sh: coordinator exited 2");
    expect(third.output()).toContain(`Data directory "${dir}" is in use by another coordinator`);
  });
});
