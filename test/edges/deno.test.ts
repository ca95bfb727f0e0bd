import { rmSync } from "node:fs";
import { describeProbeRuntime } from "./probe-runtime-suite.ts";
import { bundleDenoProbe, startDenoProbe } from "./runtimes.ts";

let bundleDir: string | null = null;

describeProbeRuntime({
  title: "the Deno probe running in Deno, as bundled for Deno Deploy",
  id: "deno-fra",
  provider: "deno-deploy",
  async start(env) {
    const bundle = await bundleDenoProbe();
    bundleDir = bundle.dir;
    // Deno.cron cannot fire sooner than its minute, so the entry's push-at-start runs the same backstop.
    return startDenoProbe(env, { backstopAtStart: true, bundle: bundle.file });
  },
  backstop: async () => {},
  cleanup: () => {
    if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
  },
});
