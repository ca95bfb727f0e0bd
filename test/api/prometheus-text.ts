/** A strict reader of the Prometheus text format (0.0.4) for tests: it throws on anything malformed. */

/** One metric family as exposed. */
export interface Family {
  type: string;
  help: string;
  samples: { labels: Record<string, string>; value: number }[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/y;

/** Parses an exposition into families; every sample must follow its family's `# TYPE` line. */
export function parsePrometheusText(text: string): Map<string, Family> {
  if (!text.endsWith("\n")) throw new Error("Exposition must end with a newline");
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  let current: string | null = null;
  for (const line of text.slice(0, -1).split("\n")) {
    const help = /^# HELP (\S+) (.*)$/.exec(line);
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (help?.[1]) {
      if (families.has(help[1])) throw new Error(`Family "${help[1]}" appears twice`);
      families.set(help[1], { type: "", help: help[2] ?? "", samples: [] });
      current = help[1];
      continue;
    }
    if (type?.[1] && type[2]) {
      const family = families.get(type[1]);
      if (!family || current !== type[1]) throw new Error(`TYPE without HELP for "${type[1]}"`);
      family.type = type[2];
      continue;
    }
    const sample = SAMPLE.exec(line);
    if (!sample?.[1] || sample[3] === undefined) throw new Error(`Malformed line: ${JSON.stringify(line)}`);
    const family = current ? families.get(current) : undefined;
    if (!family?.type || sample[1] !== current) throw new Error(`Sample "${sample[1]}" outside its family`);
    const labels = parseLabels(sample[2] ?? "");
    const key = `${sample[1]}${JSON.stringify(labels)}`;
    if (seen.has(key)) throw new Error(`Duplicate series ${key}`);
    seen.add(key);
    const value = sample[3] === "+Inf" ? Infinity : sample[3] === "-Inf" ? -Infinity : Number(sample[3]);
    if (Number.isNaN(value) && sample[3] !== "NaN") throw new Error(`Bad value in ${JSON.stringify(line)}`);
    family.samples.push({ labels, value });
  }
  return families;
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const match = LABEL.exec(text);
    if (!match?.[1]) throw new Error(`Malformed labels: ${text}`);
    labels[match[1]] = (match[2] ?? "").replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
  }
  return labels;
}

/** The value of the one sample of `name` whose labels include `labels`. */
export function sampleValue(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number {
  const matches = (families.get(name)?.samples ?? []).filter((s) =>
    Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (matches.length !== 1)
    throw new Error(`Expected one sample of ${name} ${JSON.stringify(labels)}, found ${matches.length}`);
  return matches[0]?.value ?? Number.NaN;
}
