import { describe, expect, it } from "vitest";
import { runDemo } from "../../demo/demo.ts";

describe("healthmesh demo alerts", () => {
  it("the demo's webhook sink receives the signed failover and fail-back messages", async () => {
    const lines: string[] = [];
    const code = await runDemo({ write: (line) => lines.push(line), timeoutMs: 50_000 });
    expect(code, lines.join("\n")).toBe(0);
    const alerts = lines.filter((l) => l.includes("alert -> webhook sink"));
    expect(
      alerts.some((l) =>
        /healthmesh\.failover: Failover: "web" switched to secondary .*\(msg_[0-9a-f]{32}, signed v1,/.test(
          l,
        ),
      ),
    ).toBe(true);
    expect(alerts.some((l) => /healthmesh\.failback: Fail-back: "web" returned to primary/.test(l))).toBe(
      true,
    );
    expect(lines.at(-1)).toMatch(/1 failover and 1 fail-back alert\(s\)/);
  }, 60_000);
});
