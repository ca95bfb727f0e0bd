import { rmSync } from "node:fs";
import { expect } from "vitest";
import { describeProbeRuntime } from "./probe-runtime-suite.ts";
import { bundleWorker, startWorkerProbe } from "./runtimes.ts";

let bundleDir: string | null = null;

describeProbeRuntime({
  title: "the Worker probe running in workerd",
  id: "cf-ams",
  provider: "cloudflare-workers",
  subrequests: 50,
  async start(env) {
    const bundle = await bundleWorker();
    bundleDir = bundle.dir;
    return startWorkerProbe(bundle.file, env);
  },
  // Fires the Worker's scheduled handler, the one its cron trigger runs each minute.
  backstop: async (probe) => expect(await probe.scheduled()).toBe("ok"),
  cleanup: () => {
    if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
  },
});
