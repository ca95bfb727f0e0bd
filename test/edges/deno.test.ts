import { describeProbeRuntime } from "./probe-runtime-suite.ts";
import { startDenoProbe } from "./runtimes.ts";

describeProbeRuntime({
  title: "the Deno probe running in Deno",
  id: "deno-fra",
  provider: "deno-deploy",
  // Deno.cron cannot fire sooner than its minute, so the entry's push-at-start runs the same backstop.
  start: (env) => startDenoProbe(env, { backstopAtStart: true }),
  backstop: async () => {},
});
