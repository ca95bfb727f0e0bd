/**
 * Builds what the images and units run, with esbuild (the bundler tsx and wrangler already bring):
 * - `probe`: dist/probe/healthmesh-probe.mjs, one file with every dependency inside, for plain `node`;
 * - `coordinator`: dist/coordinator/, the whole CLI in healthmesh.mjs plus the runtime files of its
 *   one native dependency (better-sqlite3, built for the Node that ran `npm install`).
 * Run as `npm run build:probe` / `npm run build:coordinator` (tsx deploy/build.ts TARGET).
 */
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { type BuildOptions, build } from "esbuild";

const ROOT = resolve(import.meta.dirname, "..");

/** Where each build writes, relative to the repository root (the Dockerfiles COPY from here). */
export const OUTPUTS = {
  probe: "dist/probe/healthmesh-probe.mjs",
  coordinator: "dist/coordinator/healthmesh.mjs",
} as const;

// Runtime files of better-sqlite3 and of what it requires when loaded; its other dependency,
// prebuild-install, only runs at install time. The coordinator-image test starts the coordinator
// from a directory holding only these, so a missing file fails there.
const NATIVE_RUNTIME: Record<string, string[]> = {
  "better-sqlite3": ["package.json", "LICENSE", "lib", "build/Release/better_sqlite3.node"],
  bindings: ["package.json", "LICENSE.md", "bindings.js"],
  "file-uri-to-path": ["package.json", "LICENSE", "index.js"],
};

// Some bundled CommonJS code calls require() for Node built-ins; an ES module has none of its own.
const REQUIRE_SHIM =
  'import { createRequire as __hmRequire } from "node:module";\nconst require = __hmRequire(import.meta.url);';

/**
 * Bundles for Node and writes esbuild's list of inputs beside the output directory (dist/probe.meta.json,
 * not copied into the images): the image tests check every input is something the Dockerfile's build
 * stage has, a source it copies or a production dependency it installs.
 */
async function bundle(root: string, output: string, options: BuildOptions): Promise<void> {
  const result = await build({
    absWorkingDir: root,
    outfile: join(root, output),
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    metafile: true,
    ...options,
  });
  writeFileSync(
    join(root, `${dirname(output)}.meta.json`),
    JSON.stringify(Object.keys(result.metafile.inputs)),
  );
}

/** Bundles the push probe into one dependency-free file. */
export async function buildProbe(root = ROOT): Promise<string> {
  const outfile = join(root, OUTPUTS.probe);
  rmSync(dirname(outfile), { recursive: true, force: true });
  await bundle(root, OUTPUTS.probe, {
    entryPoints: ["cli/probe-main.ts"],
    legalComments: "linked",
    banner: { js: `#!/usr/bin/env node\n${REQUIRE_SHIM}` },
    logLevel: "warning",
  });
  return outfile;
}

/** Bundles the CLI with the coordinator and copies the native SQLite module's runtime files beside it. */
export async function buildCoordinator(root = ROOT): Promise<string> {
  const outfile = join(root, OUTPUTS.coordinator);
  const outdir = dirname(outfile);
  rmSync(outdir, { recursive: true, force: true });
  await bundle(root, OUTPUTS.coordinator, {
    entryPoints: ["cli/bundle-main.ts"],
    external: ["better-sqlite3"],
    legalComments: "linked",
    banner: { js: `#!/usr/bin/env node\n${REQUIRE_SHIM}` },
    logLevel: "warning",
  });
  for (const [name, files] of Object.entries(NATIVE_RUNTIME)) {
    for (const file of files) {
      const to = join(outdir, "node_modules", name, file);
      mkdirSync(dirname(to), { recursive: true });
      cpSync(join(root, "node_modules", name, file), to, { recursive: true });
    }
  }
  return outfile;
}

const target = import.meta.filename === resolve(process.argv[1] ?? "") ? process.argv[2] : undefined;
if (target === "probe") console.log(await buildProbe());
else if (target === "coordinator") console.log(await buildCoordinator());
else if (import.meta.filename === resolve(process.argv[1] ?? "")) {
  console.error(`Unknown build target "${target}": use probe or coordinator`);
  process.exitCode = 2;
}
