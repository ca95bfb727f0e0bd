/**
 * Benchmark: false failovers. A primary that is up but imperfect — 1 % of checks fail at random, or
 * 10 % of checks answer only after the check's timeout — for 24 simulated hours on a ManualClock, with
 * and without fast confirmation: how many failovers it caused, how often a single probe voted it
 * down, and how many extra checks fast confirmation cost. Real coordinator and PushProbe code.
 */
import type { Answer } from "./sim-mesh.ts";
import { seeded, simMesh } from "./sim-mesh.ts";
import type { Row } from "./table.ts";

const PROBES = ["p1", "p2", "p3"];
const INTERVAL_MS = 10_000;

interface Scenario {
  name: string;
  primary: (random: () => number) => Answer;
}

const SCENARIOS: Scenario[] = [
  {
    name: "1 % of checks fail (HTTP 503)",
    primary: (random) => ({ status: random() < 0.01 ? 503 : 200, latencyMs: 50 }),
  },
  {
    name: "10 % of checks answer after the 5 s timeout",
    primary: (random) => (random() < 0.1 ? "hang" : { status: 200, latencyMs: 50 }),
  },
];

interface Outcome {
  failovers: number;
  downVotes: number;
  checks: number;
  confirmations: number;
}

async function simulate(scenario: Scenario, confirm: boolean, hours: number, seed: number): Promise<Outcome> {
  const random = seeded(seed);
  const mesh = await simMesh(
    {
      probes: PROBES,
      intervalMs: INTERVAL_MS,
      failAfter: 3,
      recoverAfter: 6,
      holdDown: "5m",
      timeout: "5s",
      ...(confirm ? {} : { confirmInterval: "0s" }),
      primary: () => scenario.primary(random),
    },
    random,
  );
  // Counts each time one probe's standing vote on the primary turns to down.
  const votes = new Map<string, string | null>();
  let downVotes = 0;
  const watch = () => {
    for (const probe of PROBES) {
      const vote = mesh.coordinator.track(probe, "web", "primary")?.vote ?? null;
      if (vote === "down" && votes.get(probe) !== "down") downVotes++;
      votes.set(probe, vote);
    }
    return false;
  };
  await mesh.runUntil(mesh.clock.now() + hours * 3_600_000, watch);
  const events = await mesh.coordinator.events({});
  mesh.close();
  return {
    failovers: events.filter((e) => e.type === "failover").length,
    downVotes,
    checks: mesh.checks(),
    confirmations: mesh.probes.reduce((sum, probe) => sum + probe.confirmations, 0),
  };
}

/** Adds up the outcomes of several runs. */
function sum(outcomes: Outcome[]): Outcome {
  return outcomes.reduce((a, b) => ({
    failovers: a.failovers + b.failovers,
    downVotes: a.downVotes + b.downVotes,
    checks: a.checks + b.checks,
    confirmations: a.confirmations + b.confirmations,
  }));
}

/**
 * Runs the false-failover benchmark: `runs` runs (default 1, seeds `seed`, `seed + 1`, …) of `hours`
 * simulated hours (default 24) per case, summed. `BENCH_FALSE_RUNS` sets `runs` from the command line.
 */
export async function falseFailovers(
  options: { hours?: number; seed?: number; runs?: number; only?: string } = {},
): Promise<Row[]> {
  const hours = options.hours ?? 24;
  const seed = options.seed ?? 20261202;
  const runs = options.runs ?? Number(process.env.BENCH_FALSE_RUNS ?? "1");
  const seeds = Array.from({ length: runs }, (_, i) => seed + i);
  const rows: Row[] = [];
  for (const scenario of SCENARIOS) {
    if (options.only && !scenario.name.includes(options.only)) continue;
    const each = async (confirm: boolean) => {
      const outcomes: Outcome[] = [];
      for (const s of seeds) outcomes.push(await simulate(scenario, confirm, hours, s));
      return sum(outcomes);
    };
    const without = await each(false);
    const withConfirm = await each(true);
    for (const [label, outcome] of [
      ["no fast confirmation", without],
      ["fast confirmation (interval / 4)", withConfirm],
    ] as const) {
      const extra = outcome.checks - without.checks;
      rows.push({
        bench: `false failovers (${runs} × ${hours} h simulated)`,
        case: `${scenario.name}, ${label}`,
        figure: `${outcome.failovers} failover(s); ${outcome.downVotes} single-probe down vote(s)`,
        baseline: `${without.checks} checks without fast confirmation`,
        ratio: `${outcome.checks} checks (${extra >= 0 ? "+" : ""}${((extra / without.checks) * 100).toFixed(2)} %)`,
        note: `${outcome.confirmations} confirmation checks; 3 push probes, interval 10 s, failAfter 3, recoverAfter 6, holdDown 5m, seed${runs > 1 ? `s ${seeds[0]}–${seeds.at(-1)}` : ` ${seed}`}`,
      });
    }
  }
  return rows;
}
