/**
 * `npm run bench`: the four benchmarks of issue 6, each figure beside a baseline or floor measured in
 * the same run. Prints a Markdown table and writes it, with the machine and the command, to
 * bench/results/latest.md. `npm run bench -- detection ingest` runs a subset; `--quick` shortens runs.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { decisionRounds } from "./decision-round.ts";
import { detection } from "./detection.ts";
import { dnsReads } from "./dns-reads.ts";
import { falseFailovers } from "./false-failovers.ts";
import { flapping } from "./flapping.ts";
import { ingest } from "./ingest.ts";
import { massFailover } from "./mass-failover.ts";
import { scale } from "./scale.ts";
import { statusReads } from "./status.ts";
import { machine, markdown, type Row } from "./table.ts";
import { tally } from "./tally.ts";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const wanted = args.filter((a) => !a.startsWith("--"));
const all = [
  "detection",
  "false-failovers",
  "ingest",
  "decision",
  "mass",
  "flapping",
  "status",
  "dns-reads",
  "scale",
  "tally",
];
const selected = wanted.length > 0 ? wanted : all;
const startedAt = machine();
const rows: Row[] = [];
const started = performance.now();

for (const name of selected) {
  const t0 = performance.now();
  console.error(`bench: ${name}…`);
  if (name === "detection") {
    rows.push(...(await detection(quick ? { realIntervals: [1000], realTrials: 2, simTrials: 10 } : {})));
  } else if (name === "false-failovers") {
    rows.push(...(await falseFailovers(quick ? { hours: 2 } : {})));
  } else if (name === "ingest") {
    rows.push(
      ...(await ingest({
        seconds: quick ? 4 : 10,
        ...(process.env.BENCH_PROFILE ? { profileDir: process.env.BENCH_PROFILE } : {}),
      })),
    );
  } else if (name === "decision") {
    rows.push(...(await decisionRounds()));
  } else if (name === "mass") {
    rows.push(...(await massFailover()));
  } else if (name === "flapping") {
    rows.push(...(await flapping()));
  } else if (name === "dns-reads") {
    rows.push(...(await dnsReads(quick ? [100, 1000] : [100, 1000, 10_000])));
  } else if (name === "status") {
    rows.push(...(await statusReads(quick ? [100, 1000] : [100, 1000, 10_000])));
  } else if (name === "scale") {
    rows.push(
      ...(await scale(
        quick
          ? {
              sizes: [
                { services: 100, probes: 5 },
                { services: 1000, probes: 9 },
              ],
              intervalMs: 2000,
            }
          : {},
      )),
    );
  } else if (name === "tally") {
    rows.push(...(await tally({ quick })));
  } else {
    throw new Error(`Unknown benchmark "${name}": choose from ${all.join(", ")}`);
  }
  console.error(`bench: ${name} took ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

const end = machine();
const report = `# Benchmark results

Command: \`npm run bench${args.length ? ` -- ${args.join(" ")}` : ""}\` (${((performance.now() - started) / 1000).toFixed(0)} s)

Machine: ${startedAt.cpu}, nproc ${startedAt.nproc}, Node ${startedAt.node}; load average ${startedAt.load} at the start, ${end.load} at the end; ${startedAt.date}

${markdown(rows)}
`;
console.log(report);
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
writeFileSync(new URL("./results/latest.md", import.meta.url), report);
