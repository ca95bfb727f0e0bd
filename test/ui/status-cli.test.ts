import { describe, expect, it } from "vitest";
import { formatStatus } from "../../cli/status.ts";
import type { StatusView } from "../../shared/api-schema.ts";
import { TOKEN, testCoordinator } from "../helpers.ts";

const ESC = "\u001b[";

/**
 * A real `/v1/status` after a pin to the secondary, with p1 reporting and p2, p3 never seen; then a
 * second provider that still serves the primary is added, as a DNS divergence would show.
 */
async function status(): Promise<StatusView> {
  const t = await testCoordinator();
  await t.report("p1", { primary: false, secondary: true });
  await t.coordinator.failover("web", "secondary", { actor: "test" });
  await t.coordinator.reconciler.idle();
  const response = await t.app.request("/v1/status", { headers: { authorization: `Bearer ${TOKEN}` } });
  const view = (await response.json()) as StatusView;
  const web = view.services[0];
  if (web)
    web.dns.desec = { state: "error", target: "cf-front.example.com.", error: "Cannot reach deSEC: timeout" };
  return view;
}

describe("healthmesh status", () => {
  it("prints plain text without colour codes when not on a TTY", async () => {
    const text = formatStatus(await status(), { color: false });
    expect(text).not.toContain(ESC);
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^healthmesh · example\.com · 20\d\d-/);
    const service = lines.find((l) => l.startsWith("web "));
    expect(service).toMatch(/^web\s+secondary\s+pinned\s+UNKNOWN 0↓ 0↑ 3·\s+UNKNOWN 0↓ 0↑ 3·\s+0s ago$/);
    expect(text).toMatch(/web\s+memory\s+in-sync\s+cdn2-front\.example\.com\.\s+0s ago\n/);
    expect(text).toMatch(
      /web\s+desec\s+error\s+cf-front\.example\.com\. ≠ live\s+never\s+Cannot reach deSEC: timeout/,
    );
    expect(text).toMatch(/p1\s+edge1\s+unknown\s+0s ago\s+ok\s+✗ abstain\s+✓ abstain/);
    expect(text).toMatch(/p2\s+edge2\s+unknown\s+never\s+STALE\s+-\s+-/);
  });

  it("aligns columns: every row of a table starts its cells at the same offsets", async () => {
    const text = formatStatus(await status(), { color: false });
    const probeTable = text.trimEnd().split("\n\n")[3]?.split("\n") ?? [];
    expect(probeTable).toHaveLength(4);
    const offsets = (line: string) => [...line.matchAll(/ {2}(?=\S)/g)].map((m) => (m.index ?? 0) + 2);
    const header = offsets(probeTable[0] ?? "");
    for (const row of probeTable.slice(1)) expect(offsets(row).slice(0, 4)).toEqual(header.slice(0, 4));
  });

  it("colours verdicts, DNS state and stale probes on a TTY", async () => {
    const view = await status();
    const text = formatStatus(view, { color: true });
    expect(text).toContain(`${ESC}31mSTALE`);
    expect(text).toContain(`${ESC}31merror`);
    expect(text).toContain(`${ESC}32min-sync`);
    expect(text).toContain(`${ESC}33mUNKNOWN`);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping ANSI escapes is the point
    expect(text.replace(/\u001b\[\d+m/g, "")).toBe(formatStatus(view, { color: false }));
  });
});
