/**
 * The coordinator's image and unit as users run them: `npm run build:coordinator` (the image's build
 * step), then the runtime stage's ENTRYPOINT and CMD from a directory holding only what that stage
 * copies, and the unit's ExecStart from a copy of dist/coordinator — each one answering /healthz and
 * counting a real push probe's votes.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { type Origin, startOrigin } from "../../demo/origins.ts";
import { freePort } from "../support/ports.ts";
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
  ROOT,
  readUnit,
  removeAll,
  runInRepo,
  start,
  tempDir,
} from "./support.ts";

const BIN = join(ROOT, "bin/healthmesh.mjs");
const PROBE = "fly-iad";
const SECRETS = {
  HEALTHMESH_API_TOKEN: "deploy-test-token",
  PROBE_FLY_IAD_SECRET: "deploy-test-probe-secret",
};
const dirs: string[] = [];
const children: Child[] = [];
let stages: Stage[];
let origins: Origin[];

beforeAll(async () => {
  stages = parseDockerfile(readFileSync(join(ROOT, "Dockerfile.coordinator"), "utf8"));
  const builds = stages[0]?.runs.filter((run) => run.startsWith("npm run build:")) ?? [];
  expect(builds).toEqual(["npm run build:coordinator"]);
  for (const command of builds) await runInRepo(command);
  origins = [await startOrigin("cf-front"), await startOrigin("cdn2-front")];
}, 120_000);

afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => child.stop()));
});

afterAll(async () => {
  await Promise.all((origins ?? []).map((origin) => origin.close()));
  removeAll(dirs);
});

/** A healthmesh.yaml (JSON is YAML) with in-memory DNS and one push probe, written to `file`. */
function writeConfig(file: string): void {
  const config = {
    zone: "example.com",
    providers: { memory: {} },
    services: [
      {
        name: "web",
        router: "web-router",
        primary: {
          target: "cf-front.example.com.",
          check: { url: `${origins[0]?.url}/healthz`, timeout: "1s" },
        },
        secondary: {
          target: "cdn2-front.example.com.",
          check: { url: `${origins[1]?.url}/healthz`, timeout: "1s" },
        },
        failAfter: 2,
        recoverAfter: 2,
      },
    ],
    probes: {
      interval: "500ms",
      members: [
        { id: PROBE, provider: "fly", region: "test", mode: "push", secretEnv: "PROBE_FLY_IAD_SECRET" },
      ],
    },
  };
  writeFileSync(file, JSON.stringify(config, null, 2), { mode: 0o644 });
}

/** Rewrites the coordinator's --host/--port to loopback and a free port, and its absolute paths into `map`. */
function localArgv(argv: string[], port: number, map: (path: string) => string): string[] {
  return argv.map((arg, i) => {
    if (argv[i - 1] === "--host") return "127.0.0.1";
    if (argv[i - 1] === "--port") return String(port);
    if (i === 0 && arg === "node") return process.execPath;
    return arg.startsWith("/") ? map(arg) : arg;
  });
}

/** Waits for /healthz, then runs the Node push probe against the coordinator and waits for its counted votes. */
async function expectServing(url: string, coordinator: Child): Promise<void> {
  const wait = { timeout: 20_000, interval: 100 };
  try {
    await vi.waitFor(async () => expect((await fetch(`${url}/healthz`)).status).toBe(200), wait);
  } catch (error) {
    throw new Error(`${(error as Error).message}\ncoordinator output:\n${coordinator.output()}`);
  }
  const probe = start([process.execPath, BIN, "probe", "--id", PROBE, "--coordinator", url], {
    cwd: ROOT,
    env: bareEnv({ HEALTHMESH_PROBE_SECRET: SECRETS.PROBE_FLY_IAD_SECRET }),
  });
  children.push(probe);
  const votes = async () => {
    const response = await fetch(`${url}/v1/status`, {
      headers: { authorization: `Bearer ${SECRETS.HEALTHMESH_API_TOKEN}` },
    });
    // the shape is shared/api-schema.ts statusSchema; only the tallies matter here
    const status = (await response.json()) as {
      services: { primary: { votes: unknown }; secondary: { votes: unknown } }[];
    };
    const web = status.services[0];
    return [web?.primary.votes, web?.secondary.votes];
  };
  try {
    const up = { up: 1, down: 0, abstain: 0 };
    await vi.waitFor(async () => expect(await votes()).toEqual([up, up]), wait);
  } catch (error) {
    throw new Error(
      `${(error as Error).message}\nprobe output:\n${probe.output()}\ncoordinator:\n${coordinator.output()}`,
    );
  }
}

describe("Dockerfile.coordinator", () => {
  it("has everything its bundle is built from: sources it copies and production dependencies", () => {
    const inputs = JSON.parse(readFileSync(join(ROOT, "dist/coordinator.meta.json"), "utf8")) as string[];
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
    expect(sources).toContain("coordinator/");
    expect(sources.filter((source) => !existsSync(join(ROOT, source)))).toEqual([]);
  });

  it("runs ENTRYPOINT and CMD from what the runtime stage copies, as an unprivileged user, with its store on the volume", async () => {
    const rootfs = tempDir("healthmesh-coordinator-image-");
    dirs.push(rootfs);
    const runtime = assembleRuntime(stages, ROOT, rootfs);
    expect(runtime.image).toMatch(/^node:24-/);
    expect(readdirSync(join(rootfs, "app")).sort()).toEqual(["healthmesh.mjs", "node_modules"]);
    expect(runtime.volumes).toEqual(["/data"]);
    expect(runtime.env.HEALTHMESH_DATA).toBe("/data");
    const config = "/etc/healthmesh/healthmesh.yaml";
    expect(runtime.cmd).toContain(config);
    mkdirSync(join(rootfs, "etc/healthmesh"), { recursive: true });
    writeConfig(join(rootfs, config));
    const port = await freePort();
    const map = (path: string) => join(rootfs, path);
    const asRoot = process.getuid?.() === 0;
    // As root the entrypoint hands /data to the user and drops to it; "nobody" stands in for the image's "node".
    const argv = [
      ...(asRoot ? (runtime.entrypoint ?? []).map(map) : []),
      ...localArgv(runtime.cmd ?? [], port, map),
    ];
    const env = bareEnv({
      ...runtime.env,
      ...SECRETS,
      HEALTHMESH_DATA: map("/data"),
      HEALTHMESH_USER: "nobody",
    });
    const child = start(argv, { cwd: map(runtime.workdir), env });
    children.push(child);
    await expectServing(`http://127.0.0.1:${port}`, child);
    if (asRoot) {
      const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${child.process.pid}/status`, "utf8"))?.[1];
      expect(uid).toBe("65534");
      expect(statSync(map("/data")).uid).toBe(65534);
    }
    expect(readdirSync(map("/data")).length).toBeGreaterThan(0);
  });
});

describe("deploy/healthmesh-coordinator.service", () => {
  it("runs the unit's ExecStart from a copy of dist/coordinator and counts a probe's votes", async () => {
    const unit = readUnit(join(ROOT, "deploy/healthmesh-coordinator.service"));
    const execStart = unit.get("Service.ExecStart")?.[0]?.split(/\s+/) ?? [];
    expect(execStart.slice(0, 3)).toEqual([
      "/usr/bin/node",
      "/opt/healthmesh-coordinator/healthmesh.mjs",
      "coordinator",
    ]);
    expect(unit.get("Service.StateDirectory")).toEqual(["healthmesh"]);
    expect(execStart[execStart.indexOf("--data") + 1]).toBe("/var/lib/healthmesh");
    expect(unit.get("Service.RestartPreventExitStatus")).toEqual(["2"]);
    const root = tempDir("healthmesh-coordinator-unit-");
    dirs.push(root);
    // The README's install: the whole dist/coordinator directory, copied as is.
    cpSync(join(ROOT, "dist/coordinator"), join(root, "opt/healthmesh-coordinator"), { recursive: true });
    mkdirSync(join(root, "etc/healthmesh"), { recursive: true });
    writeConfig(join(root, "etc/healthmesh/healthmesh.yaml"));
    const port = await freePort();
    const argv = localArgv(execStart, port, (path) =>
      path === "/usr/bin/node" ? process.execPath : join(root, path),
    );
    const child = start(argv, { cwd: "/", env: bareEnv({ NODE_ENV: "production", ...SECRETS }) });
    children.push(child);
    await expectServing(`http://127.0.0.1:${port}`, child);
    expect(readdirSync(join(root, "var/lib/healthmesh")).length).toBeGreaterThan(0);
  });

  it("exits 2 on a Node older than 20.19, before anything else", async () => {
    const fake18 = 'data:text/javascript,Object.defineProperty(process.versions,"node",{value:"18.19.1"})';
    const child = start(
      [process.execPath, "--import", fake18, join(ROOT, "dist/coordinator/healthmesh.mjs"), "schema"],
      {
        cwd: ROOT,
        env: bareEnv({}),
      },
    );
    expect(await child.exited).toBe(2);
    expect(child.output()).toContain("Cannot start on Node 18.19.1");
  });
});
