/**
 * A real coordinator process with its SQLite store, killed with SIGKILL right after the first `202`
 * of a burst of concurrent reports (group commit at work): after the restart every report that got
 * a `202` is there (re-sending it is refused as a replay, its probe was seen).
 */
import { afterAll, describe, expect, it } from "vitest";
import { signReport } from "../../probes/report.ts";
import type { Report } from "../../shared/protocol.ts";
import { api, Cleanup, startCoordinator, until } from "../chaos/processes.ts";

const cleanup = new Cleanup();
afterAll(() => cleanup.run());

const PROBES = 8;
const secret = (i: number) => `secret-${i}`;

function configYaml(): string {
  const members = Array.from(
    { length: PROBES },
    (_, i) => `    - { id: p${i + 1}, provider: edge${i + 1}, secretEnv: S${i + 1} }`,
  );
  return `zone: example.com
providers:
  memory: {}
services:
  - name: web
    router: web-router
    primary: { target: a.example.com., check: { url: "http://127.0.0.1:9/healthz" } }
    secondary: { target: b.example.com., check: { url: "http://127.0.0.1:9/healthz" } }
probes:
  interval: 10s
  members:
${members.join("\n")}
`;
}

function report(probe: number, n: number): Report {
  const at = new Date().toISOString();
  return {
    id: `p${probe}-${n}`,
    probe: `p${probe}`,
    sentAt: at,
    healthy: true,
    results: [{ service: "web", endpoint: "primary", ok: true, checkedAt: at }],
  };
}

async function post(base: string, value: Report, probe: number): Promise<number> {
  const signed = await signReport(value, secret(probe), Date.now());
  try {
    const answer = await fetch(`${base}/v1/reports`, {
      method: "POST",
      body: signed.body,
      headers: signed.headers,
    });
    return answer.status;
  } catch {
    return 0; // killed before it answered
  }
}

describe("a 202 means stored", () => {
  it("loses no report that was answered 202 when the coordinator is killed right after it", async () => {
    const env = Object.fromEntries(Array.from({ length: PROBES }, (_, i) => [`S${i + 1}`, secret(i + 1)]));
    const first = await startCoordinator(configYaml(), env, cleanup);
    const sent: { value: Report; probe: number }[] = [];
    for (let n = 1; n <= 5; n++)
      for (let p = 1; p <= PROBES; p++) sent.push({ value: report(p, n), probe: p });

    const accepted: { value: Report; probe: number }[] = [];
    let killed: Promise<void> | null = null;
    await Promise.all(
      sent.map(async (entry) => {
        const status = await post(first.base, entry.value, entry.probe);
        if (status !== 202) return;
        accepted.push(entry);
        killed ??= first.kill("SIGKILL"); // at the first 202, the others still in flight
      }),
    );
    await killed;
    expect(accepted.length).toBeGreaterThan(0);

    const second = await first.restart();
    for (const entry of accepted) {
      expect(await post(second.base, entry.value, entry.probe), entry.value.id).toBe(401);
    }
    type Status = { probes: { id: string; lastSeen: string | null }[] };
    const status = await until("the status", () => api<Status>(second.base, "/v1/status"));
    for (const entry of accepted) {
      expect(status.probes.find((p) => p.id === entry.value.probe)?.lastSeen).not.toBeNull();
    }
  }, 60_000);
});
