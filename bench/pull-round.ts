/**
 * How long one pull round takes for three pull-mode probes on loopback, each in its real runtime:
 * the Deno probe in Deno, the Worker probe in workerd, the portable pull probe in Node.
 * Run: `npm run bench:pull-round` (ROUNDS=50 by default). Prints cold and warm round times.
 */
import { Hono } from "hono";
import { serveLoopback, startOrigin } from "../demo/origins.ts";
import { createPullProbe } from "../probes/pull.ts";
import { systemClock } from "../shared/clock.ts";
import { silentLogger } from "../shared/log.ts";
import { meshConfig, meshEnv, secretEnv, type TestMember } from "../test/edges/fixtures.ts";
import {
  bundleWorker,
  startDenoProbe,
  startTestCoordinator,
  startWorkerProbe,
} from "../test/edges/runtimes.ts";

const rounds = Number(process.env.ROUNDS ?? 50);
const primary = await startOrigin("cf-front");
const secondary = await startOrigin("cdn2-front");
const ids = ["deno-fra", "cf-ams", "node-hel"];
const secrets = Object.fromEntries(ids.map((id) => [secretEnv(id), `secret-${id}-${crypto.randomUUID()}`]));
// The probes need no coordinator URL: pulls need none, and the backstop is not measured here.
const settings = (id: string) => ({ id, secret: secrets[secretEnv(id)] ?? "", coordinators: [] });
const bundle = await bundleWorker();
const deno = await startDenoProbe(settings("deno-fra"));
const worker = await startWorkerProbe(bundle.file, settings("cf-ams"));
const nodeProbe = createPullProbe({
  ...settings("node-hel"),
  fetch,
  clock: systemClock(),
  log: silentLogger,
});
const nodeApp = new Hono();
nodeApp.all("*", (c) => nodeProbe.handle(c.req.raw));
const node = await serveLoopback(nodeApp);
const urls = [deno.url, worker.url, node.url];
const members: TestMember[] = ids.map((id, i) => ({ id, provider: id, mode: "pull", url: urls[i] ?? "" }));
// A long interval keeps the coordinator's own loop out of the measured rounds.
const config = meshConfig({
  primaryUrl: `${primary.url}/healthz`,
  secondaryUrl: `${secondary.url}/healthz`,
  members,
  interval: "10m",
  pullTimeout: "5s",
});
const coordinator = await startTestCoordinator(config, { ...meshEnv([]), ...secrets });
await new Promise((resolve) => setTimeout(resolve, 500)); // let the loop's own first round finish

const times: number[] = [];
for (let i = 0; i <= rounds; i++) {
  const started = performance.now();
  const outcomes = await coordinator.pulls.round();
  const ms = performance.now() - started;
  const failed = outcomes.filter((o) => !o.ok);
  if (failed.length > 0) throw new Error(`Round ${i} failed: ${JSON.stringify(failed)}`);
  if (i === 0) console.log(`first measured round: ${ms.toFixed(1)} ms`);
  else times.push(ms);
}
times.sort((a, b) => a - b);
const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]?.toFixed(1);
console.log(
  `warm rounds of 3 pull probes (Deno, workerd, Node), n=${times.length}: ` +
    `min ${at(0)} ms, median ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${at(1)} ms`,
);

await Promise.all([deno.close(), worker.close(), node.close()]);
await coordinator.close();
await Promise.all([primary.close(), secondary.close()]);
