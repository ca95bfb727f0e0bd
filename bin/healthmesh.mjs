#!/usr/bin/env node
// The package's bin: runs the TypeScript CLI through tsx, so no build step stands between clone and run.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
