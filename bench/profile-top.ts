/**
 * Prints where a CPU profile spent its time: self time by function and by file (package or project
 * directory). Run: `npx tsx bench/profile-top.ts FILE.cpuprofile` (from `node --cpu-prof`).
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time per function and per area, in percent of all samples. */
export function topOf(
  profile: Profile,
  limit = 15,
): { functions: [string, number][]; areas: [string, number][] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (const [i, id] of profile.samples.entries())
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const total = [...self.values()].reduce((a, b) => a + b, 0) || 1;
  const functions = new Map<string, number>();
  const areas = new Map<string, number>();
  for (const [id, time] of self) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    const file = frame.url.replace(/^file:\/\//, "").replace(/^.*\/work\/main\//, "");
    const area =
      /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1] ??
      (file.split("/").slice(0, 2).join("/") || "(native/gc/idle)");
    const name =
      `${frame.functionName || "(anonymous)"} ${file ? `${file}:${frame.lineNumber + 1}` : ""}`.trim();
    functions.set(name, (functions.get(name) ?? 0) + time);
    areas.set(area, (areas.get(area) ?? 0) + time);
  }
  const pct = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([k, v]): [string, number] => [k, (v / total) * 100]);
  return { functions: pct(functions), areas: pct(areas) };
}

const file = process.argv[2];
if (file && import.meta.url === `file://${process.argv[1]}`) {
  const top = topOf(JSON.parse(readFileSync(file, "utf8")) as Profile); // a .cpuprofile written by node
  for (const [name, share] of top.areas) console.log(`${share.toFixed(1).padStart(5)}%  ${name}`);
  console.log("");
  for (const [name, share] of top.functions) console.log(`${share.toFixed(1).padStart(5)}%  ${name}`);
}
