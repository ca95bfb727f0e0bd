/** Node entry of the push-mode probe (VPS, Fly.io): wires the portable loop to Node's fetch and clock. */
import { systemClock } from "../shared/clock.ts";
import { lineLogger } from "../shared/log.ts";
import { limitsFromEnv, SERVER_LIMITS } from "./limits.ts";
import { PushProbe } from "./push.ts";

/** Starts a push probe; it runs until the process gets SIGINT or SIGTERM. */
export function runNodeProbe(options: { id: string; coordinators: string[]; secret: string }): PushProbe {
  const probe = new PushProbe({
    ...options,
    limits: limitsFromEnv((name) => process.env[name], SERVER_LIMITS),
    fetch,
    clock: systemClock(),
    log: lineLogger((line) => console.error(line), `probe ${options.id}: `),
  });
  probe.start();
  const stop = () => {
    probe.stop();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return probe;
}
