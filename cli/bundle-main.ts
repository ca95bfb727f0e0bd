/**
 * Entry of the bundled CLI (`dist/coordinator/healthmesh.mjs`, the coordinator image and unit): the
 * Node version check, then the same `main` as bin/healthmesh.mjs, with no tsx in between.
 */
import { main } from "./main.ts";
import { nodeVersionProblem } from "./node-version.ts";

const tooOld = nodeVersionProblem(process.versions.node);
if (tooOld) {
  console.error(tooOld);
  process.exitCode = 2;
} else {
  process.exitCode = await main(process.argv.slice(2));
}
