/** `healthmesh alert test [--to NAME]`: sends a test message to each configured destination and reports what happened. */

import { createDestinations } from "../coordinator/alerts/factory.ts";
import { testMessage } from "../coordinator/alerts/message.ts";
import { DeliveryError } from "../coordinator/alerts/sender.ts";
import { systemClock } from "../shared/clock.ts";
import type { Config } from "../shared/config-schema.ts";
import { UsageError } from "./util.ts";

/** What happened to one destination's test message. */
export interface AlertTestResult {
  name: string;
  type: string;
  ok: boolean;
  detail: string;
}

/** Sends one test message per destination (one attempt each, no outbox) and returns the outcomes. */
export async function testAlerts(
  config: Config,
  options: { env: (name: string) => string | undefined; fetch: typeof fetch; to?: string },
): Promise<AlertTestResult[]> {
  const clock = systemClock();
  const all = createDestinations(config, { env: options.env, world: { fetch: options.fetch, clock } });
  if (all.length === 0) throw new UsageError("No alert destinations configured: add entries under alerts");
  const chosen = options.to === undefined ? all : all.filter((d) => d.name === options.to);
  if (chosen.length === 0) {
    throw new UsageError(
      `Unknown alert destination "${options.to}": configured are ${all.map((d) => d.name).join(", ")}`,
    );
  }
  const message = testMessage(config, clock.now());
  return Promise.all(
    chosen.map(async (d): Promise<AlertTestResult> => {
      if (!d.ok) return { name: d.name, type: d.type, ok: false, detail: d.message };
      const started = clock.now();
      try {
        await d.sender.send(message, { id: crypto.randomUUID(), attempt: 1 });
        return {
          name: d.name,
          type: d.sender.type,
          ok: true,
          detail: `delivered in ${clock.now() - started} ms`,
        };
      } catch (error) {
        const fault = error instanceof DeliveryError ? error : null;
        const retry =
          fault?.retryAfterMs !== undefined
            ? ` (the platform asks to retry after ${fault.retryAfterMs} ms)`
            : "";
        const text = error instanceof Error ? error.message : String(error);
        return { name: d.name, type: d.sender.type, ok: false, detail: `${text}${retry}` };
      }
    }),
  );
}

/** Prints the outcomes, one line per destination; resolves to the exit code (0 all delivered, 1 otherwise). */
export async function runAlertTest(
  config: Config,
  options: {
    env: (name: string) => string | undefined;
    fetch: typeof fetch;
    to?: string;
    write: (line: string) => void;
  },
): Promise<number> {
  const results = await testAlerts(config, options);
  for (const r of results) options.write(`${r.ok ? "ok    " : "FAILED"} ${r.name} (${r.type}): ${r.detail}`);
  const failed = results.filter((r) => !r.ok).length;
  options.write(`${results.length - failed} delivered, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}
