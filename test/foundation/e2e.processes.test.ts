/**
 * End to end with real processes on loopback: the coordinator CLI, three push-probe CLIs and two
 * origins. The primary goes down, the mesh fails over; the coordinator is killed with SIGKILL right
 * after the decision and restarted on the same data dir; nothing is lost and the mesh fails back.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type Origin, startOrigin } from "../../demo/origins.ts";

const BIN = new URL("../../bin/healthmesh.mjs", import.meta.url).pathname;
const TOKEN = "e2e-token";
const children: ChildProcess[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  for (const cleanup of cleanups) await cleanup();
});

function run(args: string[], env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  return { child, output: () => output };
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function api<T>(base: string, path: string): Promise<T | undefined> {
  try {
    const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    return response.ok ? ((await response.json()) as T) : undefined;
  } catch {
    return undefined; // the coordinator is down or restarting
  }
}

type Status = {
  services: {
    active: string;
    mode: string;
    primary: { verdict: string };
    dns: Record<string, { state: string; target: string }>;
  }[];
  probes: { id: string; lastSeen: string | null }[];
};
type Events = { events: { type: string; message: string }[] };

function configYaml(primary: Origin, secondary: Origin): string {
  return `zone: example.com
providers:
  memory: {}
services:
  - name: web
    router: web-router
    primary:
      target: cf-front.example.com.
      check: { url: ${primary.url}/healthz, bodyContains: ok, timeout: 1s }
    secondary:
      target: cdn2-front.example.com.
      check: { url: ${secondary.url}/healthz, timeout: 1s }
    failAfter: 2
    recoverAfter: 2
    holdDown: 2s
probes:
  interval: 500ms
  members:
    - { id: p1, provider: deno-deploy, secretEnv: S1 }
    - { id: p2, provider: fly, secretEnv: S2 }
    - { id: p3, provider: hetzner, secretEnv: S3 }
`;
}

describe("end to end with real processes", () => {
  it("fails over by majority, survives kill -9 of the coordinator, and fails back", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hm-e2e-"));
    const primary = await startOrigin("cf-front");
    const secondary = await startOrigin("cdn2-front");
    cleanups.push(
      () => primary.close(),
      () => secondary.close(),
      () => rmSync(dir, { recursive: true, force: true }),
    );
    const configFile = join(dir, "healthmesh.yaml");
    writeFileSync(configFile, configYaml(primary, secondary));
    const env = { HEALTHMESH_API_TOKEN: TOKEN, S1: "secret-1", S2: "secret-2", S3: "secret-3" };
    const data = join(dir, "data");

    const first = run(["coordinator", "--config", configFile, "--port", "0", "--data", data], env);
    const base = await until(
      "the coordinator to listen",
      () => /listening on (http:\/\/\S+)/.exec(first.output())?.[1],
    );
    const port = new URL(base).port;
    for (const [id, secret] of [
      ["p1", "secret-1"],
      ["p2", "secret-2"],
      ["p3", "secret-3"],
    ] as const) {
      run(["probe", "--id", id, "--coordinator", base], { HEALTHMESH_PROBE_SECRET: secret });
    }
    await until("the primary voted up", async () =>
      (await api<Status>(base, "/v1/status"))?.services[0]?.primary.verdict === "up" ? true : undefined,
    );

    primary.up = false;
    await until("the failover decision", async () =>
      (await api<Events>(base, "/v1/events"))?.events.find((e) => e.type === "failover"),
    );
    first.child.kill("SIGKILL");
    await new Promise((resolve) => first.child.once("exit", resolve));

    const second = run(["coordinator", "--config", configFile, "--port", port, "--data", data], env);
    await until("the restarted coordinator", () => (/listening on/.test(second.output()) ? true : undefined));
    const after = await until("DNS in sync after the restart", async () => {
      const status = await api<Status>(base, "/v1/status");
      return status?.services[0]?.dns.memory?.state === "in-sync" ? status : undefined;
    });
    expect(after.services[0]).toMatchObject({ active: "secondary", mode: "auto" });
    expect(after.services[0]?.dns.memory?.target).toBe("cdn2-front.example.com.");

    const restartedAt = Date.now();
    await until("all probes reporting to the restarted coordinator", async () => {
      const status = await api<Status>(base, "/v1/status");
      return status?.probes.every((p) => p.lastSeen !== null && Date.parse(p.lastSeen) > restartedAt)
        ? true
        : undefined;
    });

    primary.up = true;
    const events = await until("the fail-back", async () => {
      const list = await api<Events>(base, "/v1/events");
      return list?.events.some((e) => e.type === "failback") ? list.events : undefined;
    });
    const types = events.map((e) => e.type);
    expect(types.filter((t) => t === "failover")).toHaveLength(1);
    expect(types.filter((t) => t === "coordinator.started")).toHaveLength(2);
    expect(types.indexOf("failover")).toBeLessThan(types.lastIndexOf("coordinator.started"));
    const final = await until("DNS back on the primary", async () => {
      const status = await api<Status>(base, "/v1/status");
      return status?.services[0]?.dns.memory?.target === "cf-front.example.com." ? status : undefined;
    });
    expect(final.services[0]?.active).toBe("primary");
  }, 60_000);
});
