/**
 * Reads a Dockerfile's recipe (stages, WORKDIR, ENV, COPY, RUN, ENTRYPOINT, CMD) and assembles what
 * its last stage would hold in a directory, so tests can run that stage's command without a Docker
 * engine: the build stage's files are this repository after its `npm run build:*` steps.
 */
import { cpSync, existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";

/** One `COPY` instruction. */
export interface CopyLine {
  from: string | null;
  sources: string[];
  dest: string;
}

/** One `FROM` stage and what it does, in order. */
export interface Stage {
  image: string;
  name: string | null;
  workdir: string;
  env: Record<string, string>;
  copies: CopyLine[];
  runs: string[];
  entrypoint: string[] | null;
  cmd: string[] | null;
  user: string | null;
  volumes: string[];
  exposed: number[];
}

/** Parses the instructions the project's Dockerfiles use; anything else is an error, so none is ignored silently. */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const logical = text
    .replace(/\\\r?\n/g, " ")
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  for (const line of logical) {
    const [keyword = "", ...restWords] = line.split(/\s+/);
    const rest = line.slice(keyword.length).trim();
    const stage = stages.at(-1);
    if (keyword === "FROM") {
      const [image = "", as, name] = restWords;
      stages.push({
        image,
        name: as?.toUpperCase() === "AS" && name ? name : null,
        workdir: "/",
        env: {},
        copies: [],
        runs: [],
        entrypoint: null,
        cmd: null,
        user: null,
        volumes: [],
        exposed: [],
      });
      continue;
    }
    if (!stage) throw new Error(`Instruction before FROM: ${line}`);
    switch (keyword) {
      case "WORKDIR":
        stage.workdir = rest;
        break;
      case "ENV":
        for (const pair of rest.split(/\s+/)) {
          const [key = "", ...value] = pair.split("=");
          stage.env[key] = value.join("=");
        }
        break;
      case "COPY": {
        const from = /^--from=(\S+)\s+/.exec(rest);
        const paths = (from ? rest.slice(from[0].length) : rest).split(/\s+/);
        const dest = paths.pop() ?? "";
        stage.copies.push({ from: from?.[1] ?? null, sources: paths, dest });
        break;
      }
      case "RUN":
        stage.runs.push(rest);
        break;
      case "ENTRYPOINT":
        stage.entrypoint = JSON.parse(rest) as string[]; // exec form only: the tests run it as argv
        break;
      case "CMD":
        stage.cmd = JSON.parse(rest) as string[];
        break;
      case "USER":
        stage.user = rest;
        break;
      case "VOLUME":
        stage.volumes.push(...(JSON.parse(rest) as string[]));
        break;
      case "EXPOSE":
        stage.exposed.push(...restWords.map(Number));
        break;
      default:
        throw new Error(`Unsupported Dockerfile instruction "${keyword}"`);
    }
  }
  return stages;
}

/**
 * Lays out the last stage's COPY lines under `rootfs`: sources from the build context (`context`) or
 * from a named build stage, whose WORKDIR is taken to be `context` after the build. Throws naming a
 * source that does not exist.
 */
export function assembleRuntime(stages: Stage[], context: string, rootfs: string): Stage {
  const runtime = stages.at(-1);
  if (!runtime) throw new Error("Dockerfile has no stage");
  for (const copy of runtime.copies) {
    const builder = copy.from === null ? null : stages.find((s) => s.name === copy.from);
    if (copy.from !== null && !builder) throw new Error(`COPY --from=${copy.from}: no such stage`);
    for (const source of copy.sources) {
      const relative = builder ? relativeTo(builder.workdir, source) : source;
      const from = join(context, relative);
      if (!existsSync(from)) throw new Error(`COPY source "${source}" does not exist (looked at ${from})`);
      const target = join(rootfs, absolute(runtime.workdir, copy.dest));
      const intoDir = copy.dest.endsWith("/");
      const to =
        intoDir && !statSync(from).isDirectory() ? join(target, source.split("/").pop() ?? "") : target;
      mkdirSync(statSync(from).isDirectory() ? to : dirname(to), { recursive: true });
      cpSync(from, to, { recursive: true });
    }
  }
  return runtime;
}

function relativeTo(workdir: string, path: string): string {
  const prefix = workdir.endsWith("/") ? workdir : `${workdir}/`;
  if (!path.startsWith(prefix)) throw new Error(`COPY --from source "${path}" is outside WORKDIR ${workdir}`);
  return path.slice(prefix.length);
}

function absolute(workdir: string, path: string): string {
  return path.startsWith("/") ? path : join(workdir, path);
}

/** The part of package-lock.json (v3) that says which installed packages are dev-only. */
export interface LockFile {
  packages: Record<string, { dev?: boolean }>;
}

/**
 * Bundle inputs (paths relative to the build context, as esbuild lists them) that the build stage
 * would not have: neither under a source it COPYs from the context, nor in a package that its
 * `npm ci --omit=dev` installs (a dev-only package is missing there).
 */
export function missingFromBuildStage(stage: Stage, inputs: readonly string[], lock: LockFile): string[] {
  const copied = stage.copies.filter((copy) => copy.from === null).flatMap((copy) => copy.sources);
  const packages = Object.keys(lock.packages).filter((key) => key.startsWith("node_modules/"));
  return inputs.filter((input) => {
    if (input.startsWith("node_modules/")) {
      const owner = packages
        .filter((key) => input.startsWith(`${key}/`))
        .sort((a, b) => b.length - a.length)[0];
      return owner === undefined || lock.packages[owner]?.dev === true;
    }
    return !copied.some((source) => (source.endsWith("/") ? input.startsWith(source) : input === source));
  });
}

/** The first (build) stage; throws when the Dockerfile has none. */
export function buildStage(stages: readonly Stage[]): Stage {
  const first = stages[0];
  if (!first) throw new Error("Dockerfile has no stage");
  return first;
}
