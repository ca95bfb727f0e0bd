/**
 * The fly.toml files parse as TOML and fit the image they build: `[build] dockerfile` names a
 * Dockerfile in the repository root (the directory of both the config and the README's command),
 * the coordinator's volume and port match what its Dockerfile declares and its CMD uses.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";
import { parseDockerfile } from "./dockerfile.ts";
import { ROOT } from "./support.ts";

function readToml(file: string): Record<string, unknown> {
  return parse(readFileSync(join(ROOT, file), "utf8"));
}

/** Reads a nested table or value; TOML parses to plain objects, so a missing key is undefined. */
function at(table: unknown, ...path: (string | number)[]): unknown {
  let node = table;
  for (const key of path) node = (node as Record<string | number, unknown> | undefined)?.[key]; // walking parsed TOML
  return node;
}

describe("fly.probe.toml", () => {
  const fly = readToml("fly.probe.toml");

  it("builds Dockerfile.probe, found beside it in the repository root", () => {
    expect(at(fly, "build", "dockerfile")).toBe("Dockerfile.probe");
    expect(existsSync(join(ROOT, "Dockerfile.probe"))).toBe(true);
  });

  it("sets the probe's id and coordinators, and no service (the probe only calls out)", () => {
    expect(at(fly, "env", "HEALTHMESH_PROBE_ID")).toMatch(/\S/);
    expect(at(fly, "env", "HEALTHMESH_COORDINATORS")).toMatch(/^https:\/\//);
    expect(at(fly, "http_service")).toBeUndefined();
    expect(at(fly, "services")).toBeUndefined();
  });
});

describe("fly.coordinator.toml", () => {
  const fly = readToml("fly.coordinator.toml");
  const stages = parseDockerfile(readFileSync(join(ROOT, "Dockerfile.coordinator"), "utf8"));
  const runtime = stages.at(-1);

  it("builds Dockerfile.coordinator, found beside it in the repository root", () => {
    expect(at(fly, "build", "dockerfile")).toBe("Dockerfile.coordinator");
    expect(existsSync(join(ROOT, "Dockerfile.coordinator"))).toBe(true);
  });

  it("mounts its volume where the image keeps the store", () => {
    expect(at(fly, "mounts", "destination")).toBe("/data");
    expect(runtime?.volumes).toEqual(["/data"]);
    const cmd = runtime?.cmd ?? [];
    expect(cmd[cmd.indexOf("--data") + 1]).toBe("/data");
  });

  it("writes the user's healthmesh.yaml where the image's CMD reads its config", () => {
    const files = at(fly, "files") as { guest_path: string; local_path: string }[];
    expect(files).toEqual([{ guest_path: "/etc/healthmesh/healthmesh.yaml", local_path: "healthmesh.yaml" }]);
    const cmd = runtime?.cmd ?? [];
    expect(cmd[cmd.indexOf("--config") + 1]).toBe("/etc/healthmesh/healthmesh.yaml");
  });

  it("serves the port the coordinator listens on, checks /healthz, and never stops the Machine", () => {
    const cmd = runtime?.cmd ?? [];
    const port = Number(cmd[cmd.indexOf("--port") + 1]);
    expect(at(fly, "http_service", "internal_port")).toBe(port);
    expect(runtime?.exposed).toEqual([port]);
    expect(cmd[cmd.indexOf("--host") + 1]).toBe("0.0.0.0");
    expect(at(fly, "http_service", "checks", 0, "path")).toBe("/healthz");
    expect(at(fly, "http_service", "auto_stop_machines")).toBe("off");
    expect(at(fly, "http_service", "min_machines_running")).toBe(1);
  });
});
