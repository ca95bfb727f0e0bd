/** The CLI's operator commands through main(): the config's token variable, flags, exit codes. */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../cli/main.ts";
import { type RunningCoordinator, startCoordinator } from "../../coordinator/node.ts";
import { configFromObject } from "../../shared/config.ts";
import { silentLogger } from "../../shared/log.ts";
import { configObject } from "../helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "hm-cli-"));
const configFile = join(dir, "healthmesh.yaml");
let running: RunningCoordinator;

beforeAll(async () => {
  const object = { ...configObject(), coordinator: { apiTokenEnv: "OPS_TOKEN" } };
  writeFileSync(configFile, JSON.stringify(object)); // JSON is YAML
  const env = { OPS_TOKEN: "ops-secret", SECRET_P1: "a", SECRET_P2: "b", SECRET_P3: "c" };
  running = await startCoordinator({
    config: configFromObject(object),
    dataDir: join(dir, "data"),
    host: "127.0.0.1",
    port: 0,
    env,
    log: silentLogger,
  });
});
afterAll(async () => {
  await running.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the CLI with an environment, capturing what it prints. */
async function cli(args: string[], env: Record<string, string | undefined>) {
  const out: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((line: string) => void out.push(line));
  const error = vi.spyOn(console, "error").mockImplementation((line: string) => void out.push(line));
  const saved = { ...process.env };
  Object.assign(process.env, env);
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete process.env[key];
  try {
    return { code: await main(args), output: out.join("\n") };
  } finally {
    process.env = saved;
    log.mockRestore();
    error.mockRestore();
  }
}

describe("healthmesh operator commands", () => {
  it("read the token from the variable the config names (coordinator.apiTokenEnv)", async () => {
    const env = { OPS_TOKEN: "ops-secret", HEALTHMESH_API_TOKEN: undefined };
    const paused = await cli(["pause", "web", "--config", configFile, "--coordinator", running.url], env);
    expect(paused).toMatchObject({ code: 0 });
    expect(running.coordinator.service("web").mode).toBe("paused");
    const status = await cli(["status", "--json", "--config", configFile, "--coordinator", running.url], env);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.output).services[0].mode).toBe("paused");
  });

  it("name the missing variable when the token is not set", async () => {
    const result = await cli(["status", "--config", configFile, "--coordinator", running.url], {
      OPS_TOKEN: undefined,
    });
    expect(result).toEqual({ code: 2, output: "Missing API token: set OPS_TOKEN" });
  });

  it("refuse a malformed --coordinator with exit 2 naming the flag", async () => {
    const result = await cli(["status", "--config", configFile, "--coordinator", "not-a-url"], {
      OPS_TOKEN: "x",
    });
    expect(result.code).toBe(2);
    expect(result.output).toContain('Invalid --coordinator URL "not-a-url"');
  });

  it("exit 2 for a named config that does not exist, and 1 when nothing listens", async () => {
    const missing = await cli(["status", "--config", join(dir, "nope.yaml")], { OPS_TOKEN: "x" });
    expect(missing.code).toBe(2);
    const silent = await cli(["status", "--config", configFile, "--coordinator", "http://127.0.0.1:9"], {
      OPS_TOKEN: "x",
    });
    expect(silent.code).toBe(1);
    expect(silent.output).toContain("Cannot reach the coordinator");
  });
});

describe("healthmesh coordinator start", () => {
  const BIN = new URL("../../bin/healthmesh.mjs", import.meta.url).pathname;
  const env = { ...process.env, OPS_TOKEN: "t", SECRET_P1: "a", SECRET_P2: "b", SECRET_P3: "c" };
  const start = (args: string[]) =>
    spawnSync(process.execPath, [BIN, "coordinator", "--config", configFile, ...args], {
      env,
      encoding: "utf8",
      timeout: 20_000,
    });

  it("refuses a data directory held by a live coordinator, with exit 2", () => {
    const result = start(["--port", "0", "--data", join(dir, "data")]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`is in use by the coordinator with PID ${process.pid}`);
  });

  it("fails on a taken port before it writes anything or calls a DNS provider", () => {
    const fresh = join(dir, "fresh");
    const result = start(["--port", new URL(running.url).port, "--data", fresh]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/Cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
    expect(existsSync(join(fresh, "healthmesh.db"))).toBe(false);
    expect(existsSync(join(fresh, "coordinator.pid"))).toBe(false);
  });
});
