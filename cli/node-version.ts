/** The Node version check that the bundled entries run first (the images' and units' Node may be old). */

/** The oldest Node healthmesh is tested on (package.json `engines`). */
export const MIN_NODE = { major: 20, minor: 19 } as const;

/** Says why `version` (e.g. "18.19.0") is too old to run healthmesh, or null when it is recent enough. */
export function nodeVersionProblem(version: string): string | null {
  const [major = 0, minor = 0] = version.split(".").map((part) => Number.parseInt(part, 10) || 0);
  if (major > MIN_NODE.major || (major === MIN_NODE.major && minor >= MIN_NODE.minor)) return null;
  const wanted = `${MIN_NODE.major}.${MIN_NODE.minor}`;
  return `Cannot start on Node ${version}: healthmesh needs Node ${wanted} or later (tested on Node 20 and 24)`;
}
