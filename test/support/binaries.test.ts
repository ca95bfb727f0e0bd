import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { findBinary, isCi, MissingBinaryError, requireBinary } from "./binaries.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const dir = mkdtempSync(join(tmpdir(), "healthmesh-bin-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function executable(sub: string, name: string): string {
  mkdirSync(join(dir, sub), { recursive: true });
  const path = join(dir, sub, name);
  writeFileSync(path, "#!/bin/sh\nexit 0\n");
  chmodSync(path, 0o755);
  return path;
}

describe("findBinary()", () => {
  it("finds a binary in any PATH directory, in PATH order, and not a non-executable file", () => {
    const first = executable("a", "hm-tool");
    executable("b", "hm-tool");
    writeFileSync(join(dir, "hm-plain"), "not executable");
    const PATH = [join(dir, "empty"), join(dir, "a"), join(dir, "b"), dir].join(delimiter);
    expect(findBinary("hm-tool", { PATH })).toBe(first);
    expect(findBinary("hm-plain", { PATH })).toBeNull();
  });

  it("tries alternative names in order (Debian's prometheus-alertmanager, upstream's alertmanager)", () => {
    const upstream = executable("c", "hm-alertmanager");
    expect(findBinary(["hm-prometheus-alertmanager", "hm-alertmanager"], { PATH: join(dir, "c") })).toBe(
      upstream,
    );
  });

  it("also looks in the project's node_modules/.bin, where npm scripts find deno and workerd", () => {
    expect(findBinary("deno", { PATH: "" })).toBe(join(ROOT, "node_modules/.bin/deno"));
  });
});

describe("requireBinary()", () => {
  it("returns null on a developer machine when the binary is missing", () => {
    expect(requireBinary("hm-missing", { install: "apt-get install hm", env: { PATH: dir } })).toBeNull();
  });

  it("throws a MissingBinaryError naming the binary and the package when CI=true", () => {
    const call = () =>
      requireBinary("hm-missing", { install: "apt-get install hm", env: { PATH: dir, CI: "true" } });
    expect(call).toThrow(MissingBinaryError);
    expect(call).toThrow('Cannot find "hm-missing" on the PATH: apt-get install hm');
  });

  it("reads CI as most CIs set it", () => {
    expect([
      isCi({ CI: "true" }),
      isCi({ CI: "1" }),
      isCi({ CI: "false" }),
      isCi({ CI: "0" }),
      isCi({}),
    ]).toEqual([true, true, false, false, false]);
  });
});

describe("describeWithBinary() in a real vitest run", () => {
  async function runFixture(env: Record<string, string>): Promise<{ code: number; output: string }> {
    const vitest = join(ROOT, "node_modules/vitest/vitest.mjs");
    const args = [vitest, "run", "--config", "test/support/fixtures/vitest.config.ts"];
    const { CI: _ci, ...rest } = process.env;
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, args, {
        cwd: ROOT,
        env: { ...rest, ...env, NO_COLOR: "1" },
      });
      return { code: 0, output: stdout + stderr };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string }; // execFile's rejection
      return { code: failed.code ?? -1, output: `${failed.stdout ?? ""}${failed.stderr ?? ""}` };
    }
  }

  it("fails the run with CI=true when the binary is missing, and skips it without CI", async () => {
    const ci = await runFixture({ CI: "true" });
    expect(ci.code).toBe(1);
    expect(ci.output).toContain('Cannot find "healthmesh-no-such-binary" on the PATH');
    const local = await runFixture({});
    expect(local.code).toBe(0);
    expect(local.output).toMatch(/1 skipped/);
  });
});
