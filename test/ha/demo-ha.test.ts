/** `npm run demo:ha` shows the cluster carrying on after its leader is killed mid-failover. */
import { describe, expect, it } from "vitest";
import { runHaDemo } from "../../demo/ha.ts";
import { etcdBinary } from "./etcd-cluster.ts";

// Skipped only on a developer machine without etcd: with CI=true, etcdBinary() throws and the run fails.
describe.skipIf(!etcdBinary())("npm run demo:ha", () => {
  it("elects a new leader, switches both providers and the restarted old leader follows", async () => {
    const lines: string[] = [];
    const code = await runHaDemo((line) => lines.push(line));
    expect(code, lines.join("\n")).toBe(0);
    expect(lines.join("\n")).toMatch(/both providers serve cdn2-front\.example\.net\./);
    expect(lines.join("\n")).toMatch(/restarted and follows/);
  }, 60_000);
});
