/**
 * Benchmark 2, second figure: ingest of ONE 10,000-result report in the project's own probe format
 * (`probes/report.ts` splits it into signed parts under the body limit, posted one after another as
 * the push probe does) by a coordinator process with durable storage, against the floor of
 * verifying each part's signature and parsing and validating its body once (shared/signing.ts and
 * the protocol's zod schema), measured in this process in the same run. Both the whole round in
 * parts and one (full) part are timed.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { signReport, splitReport } from "../probes/report.ts";
import { type Report, reportSchema } from "../shared/protocol.ts";
import { verifySignature } from "../shared/signing.ts";
import { pinned, stop } from "./ingest.ts";
import type { Row } from "./table.ts";

const BIN = new URL("../bin/healthmesh.mjs", import.meta.url).pathname;
/** 5,000 services × primary and secondary: 10,000 results. */
const SERVICES = 5_000;
const ROUNDS = 9;
const SECRET = "bench-secret-big";

type Signed = { body: string; headers: Record<string, string> };

function configYaml(): string {
  const services = Array.from({ length: SERVICES }, (_, i) =>
    [
      `  - name: s${i}`,
      `    router: s${i}-router`,
      `    primary: { target: a.example.net., check: { url: "http://127.0.0.1:9/a${i}" } }`,
      `    secondary: { target: b.example.net., check: { url: "http://127.0.0.1:9/b${i}" } }`,
    ].join("\n"),
  );
  return `zone: example.com
providers:
  memory: {}
services:
${services.join("\n")}
probes:
  interval: 10s
  members:
    - { id: big, provider: edge1, secretEnv: S_BIG }
    - { id: p2, provider: edge2, secretEnv: S_BIG }
    - { id: p3, provider: edge3, secretEnv: S_BIG }
`;
}

/** One round of the probe "big": 10,000 results, split and signed as `PushProbe` does. */
async function signedRound(round: number): Promise<Signed[]> {
  const now = Date.now();
  const at = new Date(now).toISOString();
  const report: Report = {
    id: crypto.randomUUID(),
    probe: "big",
    sentAt: at,
    healthy: true,
    results: Array.from({ length: SERVICES * 2 }, (_, i) => ({
      service: `s${i >> 1}`,
      endpoint: i % 2 === 0 ? ("primary" as const) : ("secondary" as const),
      ok: true,
      status: 200,
      latencyMs: 10 + ((i + round) % 50),
      checkedAt: at,
    })),
  };
  return Promise.all(splitReport(report).map((part) => signReport(part, SECRET, now)));
}

/** What the coordinator must do at least: verify, parse and validate each part once. */
async function floorOf(part: Signed): Promise<number> {
  const t0 = performance.now();
  const check = await verifySignature(new Headers(part.headers), part.body, {
    secretFor: () => SECRET,
    nowMs: Date.now(),
  });
  if (!check.ok || !reportSchema.safeParse(JSON.parse(part.body)).success)
    throw new Error("Floor refused a part");
  return performance.now() - t0;
}

async function post(url: string, part: Signed): Promise<number> {
  const t0 = performance.now();
  const answer = await fetch(`${url}/v1/reports`, { method: "POST", body: part.body, headers: part.headers });
  const text = await answer.text();
  if (answer.status !== 202) throw new Error(`Coordinator answered ${answer.status}: ${text.slice(0, 200)}`);
  return performance.now() - t0;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** Rows: the whole 10,000-result round in parts, and one full part, each against its floor. */
export async function largeReport(options: { profileDir?: string | undefined } = {}): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), "hm-bench-large-"));
  writeFileSync(join(dir, "healthmesh.yaml"), configYaml());
  const profile = options.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${options.profileDir}/large`] : [];
  const args = [
    ...profile,
    BIN,
    "coordinator",
    "--config",
    join(dir, "healthmesh.yaml"),
    "--port",
    "0",
    "--data",
    join(dir, "data"),
  ];
  const coordinator = await pinned(args, { HEALTHMESH_API_TOKEN: "bench", S_BIG: SECRET });
  try {
    const whole: number[] = [];
    const part: number[] = [];
    const floorWhole: number[] = [];
    const floorPart: number[] = [];
    let parts = 0;
    let bytes = 0;
    for (let round = 0; round < ROUNDS + 2; round++) {
      const signed = await signedRound(round);
      const floors: number[] = [];
      for (const p of signed) floors.push(Math.min(await floorOf(p), await floorOf(p), await floorOf(p)));
      const times: number[] = [];
      for (const p of signed) times.push(await post(coordinator.url, p));
      if (round < 2) continue; // the first round creates every track; the second warms up
      parts = signed.length;
      bytes = sum(signed.map((p) => Buffer.byteLength(p.body)));
      whole.push(sum(times));
      part.push(times[0] ?? 0);
      floorWhole.push(sum(floors));
      floorPart.push(floors[0] ?? 0);
    }
    const ms = (v: number) => `${v.toFixed(1)} ms`;
    const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
    const note = `median of ${ROUNDS} rounds after 2 warm-up rounds; ${parts} parts, ${(bytes / 1024).toFixed(0)} KiB; coordinator on CPU 0 over loopback HTTP, floor in the bench process on CPU 1`;
    return [
      {
        bench: "2 report ingest",
        case: `one 10,000-result report (${SERVICES} services × 2), the whole round in ${parts} signed parts, posted in order, SQLite on disk`,
        figure: `${ms(median(whole))} to the last 202`,
        baseline: `${ms(median(floorWhole))} floor: verify + parse + validate each part once`,
        ratio: ratio(median(whole), median(floorWhole)),
        note,
      },
      {
        bench: "2 report ingest",
        case: `one full part of that round (≤ 256 KiB, ${Math.floor((SERVICES * 2) / Math.max(parts, 1))}+ results)`,
        figure: `${ms(median(part))} to its 202`,
        baseline: `${ms(median(floorPart))} floor for that part`,
        ratio: ratio(median(part), median(floorPart)),
        note,
      },
    ];
  } finally {
    await stop(coordinator.child);
    rmSync(dir, { recursive: true, force: true });
  }
}
