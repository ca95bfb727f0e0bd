/** Parses a duration such as `500ms`, `10s`, `5m`, `1h`, `90d` (or a bare number of milliseconds) into milliseconds. */
export function parseDuration(input: string | number): number {
  if (typeof input === "number") {
    if (!Number.isFinite(input) || input < 0)
      throw new RangeError(`Invalid duration ${input}: must be a non-negative number`);
    return input;
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(input);
  if (!match)
    throw new RangeError(`Invalid duration "${input}": use a number with ms, s, m, h or d, e.g. "10s"`);
  const value = Number(match[1]);
  const unit = match[2] as keyof typeof UNIT_MS; // the regex admits only these units
  return Math.round(value * UNIT_MS[unit]);
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Formats milliseconds back into the shortest exact duration string (`1500ms`, `10s`, `5m`). */
export function formatDuration(ms: number): string {
  if (ms % 86_400_000 === 0 && ms > 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
