/**
 * The systemd units: `systemd-analyze verify` accepts each, the hardening the issue lists is there,
 * and `systemd-analyze security` rates each in the "OK" band or better (exposure below 2.0).
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";
import { describeWithBinary } from "../support/binaries.ts";
import { ROOT, readUnit } from "./support.ts";

const UNITS = ["deploy/healthmesh-probe.service", "deploy/healthmesh-coordinator.service"];

const HARDENING: Record<string, string> = {
  CapabilityBoundingSet: "",
  SystemCallFilter: "@system-service",
  ProtectClock: "yes",
  ProtectHostname: "yes",
  ProtectKernelLogs: "yes",
  ProtectProc: "invisible",
  RestrictRealtime: "yes",
  UMask: "0077",
  NoNewPrivileges: "yes",
  DynamicUser: "yes",
  ProtectSystem: "strict",
};

/** Runs systemd-analyze and returns its exit code and output (it exits non-zero on findings). */
async function analyze(binary: string, args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(binary, args, { cwd: ROOT });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string }; // execFile's error carries the output
    return { code: failed.code ?? 1, output: `${failed.stdout ?? ""}${failed.stderr ?? ""}` };
  }
}

describeWithBinary(
  "the systemd units",
  "systemd-analyze",
  { install: "apt-get install systemd" },
  (binary) => {
    for (const file of UNITS) {
      it(`${file} passes systemd-analyze verify with no finding`, async () => {
        const result = await analyze(binary, ["verify", join(ROOT, file)]);
        expect(result.output.trim()).toBe("");
        expect(result.code).toBe(0);
      });

      it(`${file} has the hardening the issue lists, a memory and task limit, and the Node it needs stated`, () => {
        const unit = readUnit(join(ROOT, file));
        for (const [key, value] of Object.entries(HARDENING))
          expect(unit.get(`Service.${key}`), key).toContain(value);
        expect(unit.get("Service.MemoryMax")?.[0]).toMatch(/^\d+M$/);
        expect(unit.get("Service.TasksMax")?.[0]).toMatch(/^\d+$/);
        expect(unit.get("Service.ExecStart")?.[0]).toMatch(/^\/usr\/bin\/node /);
        // The bundled entry checks the version itself (see probe.test.ts and coordinator.test.ts).
        expect(readFileSync(join(ROOT, file), "utf8")).toMatch(/# Node: 20\.19 or later at \/usr\/bin\/node/);
        expect(unit.get("Service.RestartPreventExitStatus")).toEqual(["2"]);
      });

      it(`${file} is rated OK or better by systemd-analyze security`, async () => {
        const result = await analyze(binary, ["security", "--offline=true", "--no-pager", join(ROOT, file)]);
        const rating = /Overall exposure level for \S+: (\d+\.\d) (\w+)/.exec(result.output);
        console.log(`${file}: exposure ${rating?.[1]} ${rating?.[2]}`);
        expect(Number(rating?.[1])).toBeLessThan(2);
        expect(["OK", "SAFE"]).toContain(rating?.[2]);
      });
    }
  },
);
