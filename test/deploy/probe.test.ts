/**
 * The bundled Node probe as users run it: `npm run build:probe` (the image's build step), then the one
 * file with plain `node` and nothing beside it — from an empty directory, as the image's runtime stage
 * assembles it, and as the systemd unit's ExecStart runs it — against a coordinator that counts its votes.
 */
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  assembleRuntime,
  buildStage,
  type LockFile,
  missingFromBuildStage,
  parseDockerfile,
  type Stage,
} from "./dockerfile.ts";
import {
  bareEnv,
  type Child,
  dryRunNpmCi,
  expectVotesCounted,
  type PushMesh,
  ROOT,
  readUnit,
  removeAll,
  runInRepo,
  start,
  startPushMesh,
  tempDir,
  unitEnvironment,
} from "./support.ts";

const BUNDLE = join(ROOT, "dist/probe/healthmesh-probe.mjs");
const dirs: string[] = [];
const children: Child[] = [];
let stages: Stage[];
// Each test gets its own coordinator, so a vote counted there can only come from that test's process.
let mesh: PushMesh;

beforeAll(async () => {
  stages = parseDockerfile(readFileSync(join(ROOT, "Dockerfile.probe"), "utf8"));
  // The build stage's own build step, run in the repository (the build context).
  const builds = stages[0]?.runs.filter((run) => run.startsWith("npm run build:")) ?? [];
  expect(builds).toEqual(["npm run build:probe"]);
  for (const command of builds) await runInRepo(command);
}, 120_000);

beforeEach(async () => {
  mesh = await startPushMesh("vps-hel");
});

afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => child.stop()));
  await mesh.close();
});

afterAll(() => removeAll(dirs));

function probeEnv(extra: Record<string, string> = {}): Record<string, string> {
  return bareEnv({
    HEALTHMESH_PROBE_ID: mesh.probeId,
    HEALTHMESH_PROBE_SECRET: mesh.secret,
    HEALTHMESH_COORDINATORS: mesh.coordinator.url,
    ...extra,
  });
}

describe("the bundled Node probe (dist/probe/healthmesh-probe.mjs)", () => {
  it("imports nothing but Node's built-in modules", () => {
    const text = readFileSync(BUNDLE, "utf8");
    const specifiers = [...text.matchAll(/(?:^|\n)\s*import\s[^;]*?from\s*["']([^"']+)["']/g)].map(
      (m) => m[1],
    );
    const required = [...text.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
    const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
    expect([...specifiers, ...required].filter((name) => !builtins.has(name ?? ""))).toEqual([]);
    expect(text).not.toContain("better-sqlite3");
  });

  it("runs from an empty directory with plain node and its votes are counted", async () => {
    const dir = tempDir("healthmesh-probe-empty-");
    dirs.push(dir);
    copyFileSync(BUNDLE, join(dir, "healthmesh-probe.mjs"));
    const child = start([process.execPath, "healthmesh-probe.mjs"], { cwd: dir, env: probeEnv() });
    children.push(child);
    await expectVotesCounted(mesh, child);
    await child.stop();
  });

  it("takes --id and --coordinator flags instead of the environment", async () => {
    const dir = tempDir("healthmesh-probe-flags-");
    dirs.push(dir);
    copyFileSync(BUNDLE, join(dir, "p.mjs"));
    const env = bareEnv({ HEALTHMESH_PROBE_SECRET: mesh.secret });
    const child = start(
      [process.execPath, "p.mjs", "--id", mesh.probeId, "--coordinator", mesh.coordinator.url],
      {
        cwd: dir,
        env,
      },
    );
    children.push(child);
    await expectVotesCounted(mesh, child);
    await child.stop();
  });

  it("exits 2 naming what is missing, and on a Node older than 20.19", async () => {
    const missing = start([process.execPath, BUNDLE], {
      cwd: ROOT,
      env: bareEnv({ HEALTHMESH_PROBE_ID: "x" }),
    });
    expect(await missing.exited).toBe(2);
    expect(missing.output()).toContain("Missing --coordinator");

    // Node 18 (Debian 12, Ubuntu 24.04) cannot run here, so its version string is put in place before the bundle loads.
    const fake18 = 'data:text/javascript,Object.defineProperty(process.versions,"node",{value:"18.19.1"})';
    const old = start([process.execPath, "--import", fake18, BUNDLE], { cwd: ROOT, env: probeEnv() });
    expect(await old.exited).toBe(2);
    expect(old.output()).toContain("Cannot start on Node 18.19.1: healthmesh needs Node 20.19 or later");
  });
});

describe("Dockerfile.probe", () => {
  it("has everything its bundle is built from: sources it copies and production dependencies", () => {
    const inputs = JSON.parse(readFileSync(join(ROOT, "dist/probe.meta.json"), "utf8")) as string[];
    const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as LockFile;
    expect(inputs.length).toBeGreaterThan(10);
    expect(missingFromBuildStage(buildStage(stages), inputs, lock)).toEqual([]);
  });

  it("installs from a lock file npm ci accepts, without dev dependencies", async () => {
    const installs = stages[0]?.runs.filter((run) => run.startsWith("npm ci")) ?? [];
    expect(installs).toHaveLength(1);
    expect(installs[0]).toContain("--omit=dev");
    expect(await dryRunNpmCi(installs[0] ?? "")).toMatch(/added \d+ packages/);
  });

  it("copies only sources that exist into the build stage", () => {
    const sources = (stages[0]?.copies ?? []).flatMap((copy) => copy.sources);
    expect(sources).toContain("package-lock.json");
    expect(sources.filter((source) => !existsSync(join(ROOT, source)))).toEqual([]);
  });

  it("runs its runtime stage's CMD from a directory holding only what the stage copies, as a non-root user", async () => {
    const rootfs = tempDir("healthmesh-probe-image-");
    dirs.push(rootfs);
    const runtime = assembleRuntime(stages, ROOT, rootfs);
    expect(runtime.image).toMatch(/^node:24-/);
    expect(runtime.user).toBe("node");
    expect(runtime.cmd?.[0]).toBe("node");
    // The image's paths live under rootfs here; its `node` is the Node running this test.
    const argv = (runtime.cmd ?? []).map((arg, i) =>
      i === 0 ? process.execPath : arg.startsWith("/") ? join(rootfs, arg) : arg,
    );
    const child = start(argv, { cwd: join(rootfs, runtime.workdir), env: probeEnv(runtime.env) });
    children.push(child);
    await expectVotesCounted(mesh, child);
    await child.stop();
  });
});

describe("deploy/healthmesh-probe.service", () => {
  it("runs the bundle with the unit's ExecStart and Environment, and its votes are counted", async () => {
    const unit = readUnit(join(ROOT, "deploy/healthmesh-probe.service"));
    const execStart = unit.get("Service.ExecStart")?.[0]?.split(/\s+/) ?? [];
    expect(execStart).toEqual(["/usr/bin/node", "/opt/healthmesh/healthmesh-probe.mjs"]);
    expect(unit.get("Service.RestartPreventExitStatus")).toEqual(["2"]);
    const opt = tempDir("healthmesh-probe-opt-");
    dirs.push(opt);
    copyFileSync(BUNDLE, join(opt, "healthmesh-probe.mjs"));
    // The unit's own settings, with its example id and coordinator URL pointed at this test's mesh.
    const env: Record<string, string> = {
      ...unitEnvironment(unit),
      HEALTHMESH_PROBE_ID: mesh.probeId,
      HEALTHMESH_COORDINATORS: mesh.coordinator.url,
    };
    const child = start([process.execPath, join(opt, "healthmesh-probe.mjs")], {
      cwd: "/",
      env: bareEnv({ ...env, HEALTHMESH_PROBE_SECRET: mesh.secret }),
    });
    children.push(child);
    await expectVotesCounted(mesh, child);
    await child.stop();
  });
});
