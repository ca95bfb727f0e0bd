/** What every benchmark returns: rows for the printed table, and the machine it ran on. */
import { execSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";

/** One row of a benchmark's table: a figure, its baseline or floor, and their ratio. */
export interface Row {
  bench: string;
  case: string;
  figure: string;
  baseline: string;
  ratio: string;
  note?: string;
}

/** The machine a run happened on. */
export function machine(): Record<string, string> {
  let model = cpus()[0]?.model ?? "unknown";
  try {
    model = /model name\s*:\s*(.+)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? model;
  } catch {
    // not Linux
  }
  let cores = String(cpus().length);
  try {
    cores = execSync("nproc").toString().trim();
  } catch {
    // no coreutils
  }
  return {
    cpu: model,
    nproc: cores,
    node: process.version,
    load: loadavg()
      .map((n) => n.toFixed(2))
      .join(" "),
    date: new Date().toISOString(),
  };
}

/** A Markdown table of rows. */
export function markdown(rows: readonly Row[]): string {
  const head = "| bench | case | figure | baseline / floor | ratio | note |\n|---|---|---|---|---|---|";
  return [
    head,
    ...rows.map(
      (r) => `| ${r.bench} | ${r.case} | ${r.figure} | ${r.baseline} | ${r.ratio} | ${r.note ?? ""} |`,
    ),
  ].join("\n");
}

/** The median of some numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Milliseconds with sensible precision. */
export function ms(value: number): string {
  if (value < 0.1) return `${(value * 1000).toFixed(1)} µs`;
  return value < 10
    ? `${value.toFixed(2)} ms`
    : value < 1000
      ? `${value.toFixed(1)} ms`
      : `${(value / 1000).toFixed(2)} s`;
}
