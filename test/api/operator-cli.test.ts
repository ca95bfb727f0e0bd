/** The CLI's operator commands with named operator tokens: which token they send, and who the log names. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../cli/main.ts";
import { type RunningCoordinator, startCoordinator } from "../../coordinator/node.ts";
import { configFromObject } from "../../shared/config.ts";
import { silentLogger } from "../../shared/log.ts";
import { configObject } from "../helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "hm-ops-cli-"));
const configFile = join(dir, "healthmesh.yaml");
const TOKENS = { ALICE_TOKEN: "alice-token", VIEWER_TOKEN: "viewer-token" };
let running: RunningCoordinator;

beforeAll(async () => {
  const object = {
    ...configObject(),
    coordinator: {
      operators: [
        { name: "alice", tokenEnv: "ALICE_TOKEN", role: "operate" },
        { name: "viewer", tokenEnv: "VIEWER_TOKEN", role: "read" },
      ],
    },
  };
  writeFileSync(configFile, JSON.stringify(object)); // JSON is YAML
  running = await startCoordinator({
    config: configFromObject(object),
    dataDir: join(dir, "data"),
    host: "127.0.0.1",
    port: 0,
    env: { ...TOKENS, SECRET_P1: "a", SECRET_P2: "b", SECRET_P3: "c" },
    log: silentLogger,
  });
});
afterAll(async () => {
  await running.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the CLI with exactly these operator variables set, capturing what it prints. */
async function cli(args: string[], env: Record<string, string>) {
  const out: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((line: string) => void out.push(line));
  const error = vi.spyOn(console, "error").mockImplementation((line: string) => void out.push(line));
  const saved = { ...process.env };
  for (const key of ["ALICE_TOKEN", "VIEWER_TOKEN", "HEALTHMESH_API_TOKEN"]) delete process.env[key];
  Object.assign(process.env, env);
  try {
    const code = await main([...args, "--config", configFile, "--coordinator", running.url]);
    return { code, output: out.join("\n") };
  } finally {
    process.env = saved;
    log.mockRestore();
    error.mockRestore();
  }
}

describe("healthmesh operator commands with coordinator.operators", () => {
  it("shows the status with only a read token", async () => {
    const status = await cli(["status", "--json"], { VIEWER_TOKEN: TOKENS.VIEWER_TOKEN });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.output).services[0].name).toBe("web");
  });

  it("acts with the operate token it finds, and the audit log names that operator", async () => {
    const paused = await cli(["pause", "web", "--reason", "maintenance"], TOKENS);
    expect(paused).toEqual({ code: 0, output: "pause web: done (as alice)" });
    const events = await running.coordinator.events({});
    expect(events.find((e) => e.type === "pause")?.actor).toBe("alice");
    expect((await cli(["resume", "web"], TOKENS)).code).toBe(0);
  });

  it("exits 2 naming the operator when --as picks a read token for an action", async () => {
    const refused = await cli(["pause", "web", "--as", "viewer"], TOKENS);
    expect(refused.code).toBe(2);
    expect(refused.output).toContain('Coordinator answered 403: Operator "viewer" has the read role');
    expect(refused.output).toContain('(the token in VIEWER_TOKEN, operator "viewer")');
    expect(running.coordinator.service("web").mode).toBe("auto");
  });

  it("exits 2 on an unknown --as, listing the operators", async () => {
    const unknown = await cli(["status", "--as", "bob"], TOKENS);
    expect(unknown.code).toBe(2);
    expect(unknown.output).toContain(
      'Unknown operator "bob" for --as: use one of "operator", "alice", "viewer"',
    );
  });
});
