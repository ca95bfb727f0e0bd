/**
 * The CLI loads the coordinator only for the commands that need it: walking cli/main.ts's static
 * imports (as esbuild resolves them) never reaches the coordinator, its store, native SQLite or the
 * probe; those arrive through the dynamic imports of the commands that use them.
 */
import { join } from "node:path";
import { build, type Metafile } from "esbuild";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "./support.ts";

let meta: Metafile;

beforeAll(async () => {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: ["cli/main.ts", "cli/probe-main.ts"],
    bundle: true,
    platform: "node",
    format: "esm",
    write: false,
    metafile: true,
    outdir: join(ROOT, "dist/unused"),
    logLevel: "silent",
  });
  meta = result.metafile;
});

/** Every module reachable from `entry` through the given kinds of import. */
function reachable(entry: string, kinds: readonly string[]): Set<string> {
  const seen = new Set<string>([entry]);
  const queue = [entry];
  for (let path = queue.pop(); path !== undefined; path = queue.pop()) {
    for (const edge of meta.inputs[path]?.imports ?? []) {
      if (!kinds.includes(edge.kind) || edge.external || seen.has(edge.path)) continue;
      seen.add(edge.path);
      queue.push(edge.path);
    }
  }
  return seen;
}

const STATIC = ["import-statement", "require-call"] as const;

describe("cli/main.ts", () => {
  it("reaches neither the coordinator, native SQLite nor the probe through its static imports", () => {
    const loaded = [...reachable("cli/main.ts", STATIC)];
    expect(loaded.filter((path) => /^(coordinator|probes|demo)\/|better-sqlite3/.test(path))).toEqual([]);
  });

  it("reaches the coordinator and SQLite only through the commands' dynamic imports", () => {
    const all = [...reachable("cli/main.ts", [...STATIC, "dynamic-import"])];
    expect(all).toContain("coordinator/node.ts");
    expect(all).toContain("probes/node.ts");
    expect(all.some((path) => path.includes("better-sqlite3"))).toBe(true);
  });

  it("keeps the probe command's own module free of the coordinator", () => {
    const loaded = [...reachable("cli/probe.ts", STATIC)];
    expect(loaded).toContain("probes/node.ts");
    expect(loaded.filter((path) => /^coordinator\/|better-sqlite3/.test(path))).toEqual([]);
  });
});
