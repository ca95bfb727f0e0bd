/**
 * The 18-Nov pattern (a primary good five minutes, bad five, for an hour, then stable) through the
 * real Coordinator on a ManualClock: minutes the live path pointed at a failing origin, switches and
 * DNS writes, against the same run with `holdDown: 0s` (no hold at all) as the baseline.
 * `npx tsx bench/flapping.ts` prints the rows alone; `npm run bench -- flapping` puts them in the table.
 */
import { type FlapOptions, type FlapRun, runFlappingPrimary } from "../test/decisions/flapping-primary.ts";
import type { Row } from "./table.ts";

const min = (ms: number) => `${(ms / 60_000).toFixed(2)} min`;
const summary = (run: FlapRun) =>
  `live path down ${min(run.liveDownMs)}; ${run.failovers.length} failover, ${run.failbacks.length} failback`;

/** Rows for the table: each case beside the no-hold baseline with the same probe settings. */
export async function flapping(): Promise<Row[]> {
  const cases: { label: string; options: Omit<FlapOptions, "holdDown"> }[] = [
    { label: "failAfter 3, recoverAfter 6", options: { failAfter: 3, recoverAfter: 6 } },
    { label: "failAfter 3, recoverAfter 2", options: { failAfter: 3, recoverAfter: 2 } },
  ];
  const rows: Row[] = [];
  for (const { label, options } of cases) {
    const baseline = await runFlappingPrimary({ ...options, holdDown: "0s" });
    const held = await runFlappingPrimary({ ...options, holdDown: "5m" });
    rows.push({
      bench: "5 flapping primary (18-Nov)",
      case: `good 5 min / bad 5 min for 1 h, then stable; holdDown 5m, ${label}, interval 10 s`,
      figure: summary(held),
      baseline: `${summary(baseline)} (holdDown 0s)`,
      ratio: baseline.liveDownMs > 0 ? (held.liveDownMs / baseline.liveDownMs).toFixed(2) : "—",
      note: `DNS writes ${held.dnsWrites} vs ${baseline.dnsWrites}; on the secondary while the primary was good ${min(held.onSecondaryWhilePrimaryGoodMs)} vs ${min(baseline.onSecondaryWhilePrimaryGoodMs)}; fail-back at +${((held.switchesAtMs.at(-1)?.atMs ?? 0) / 60_000).toFixed(1)} min (stable from +${held.stableFromMs / 60_000} min)`,
    });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const row of await flapping())
    console.log(
      `${row.case}\n  ${row.figure}\n  baseline: ${row.baseline}\n  ratio ${row.ratio}; ${row.note}`,
    );
}
