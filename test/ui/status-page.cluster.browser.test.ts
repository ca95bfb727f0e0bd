/**
 * The status page of a cluster in headless Chromium: two real coordinator processes over a real
 * etcd; the page is opened on one, that one is killed, and the page must go on reading the other
 * member (learned from `status.cluster`, read across origins with the token).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { meshEnv, meshYaml } from "../chaos/mesh.ts";
import { Cleanup, type CoordinatorProcess, startCoordinator, TOKEN } from "../chaos/processes.ts";
import { etcdBinary, startEtcdCluster } from "../ha/etcd-cluster.ts";
import { describeWithBinary } from "../support/binaries.ts";
import { freePort } from "../support/ports.ts";

const CHROMIUM = ["chromium", "chromium-browser", "google-chrome"];

describeWithBinary(
  "status page of a cluster in headless Chromium",
  CHROMIUM,
  { install: "apt-get install chromium" },
  (chromiumPath) => {
    const cleanup = new Cleanup();
    const members: CoordinatorProcess[] = [];
    let context: BrowserContext;

    beforeAll(async () => {
      const etcdPath = etcdBinary();
      if (!etcdPath) throw new Error("etcd is needed for the cluster's status page");
      const etcd = await startEtcdCluster(etcdPath, 1);
      cleanup.add(() => etcd.stop());
      const base = meshYaml({
        probes: ["p1"],
        primaryUrl: "http://127.0.0.1:9",
        secondaryUrl: "http://127.0.0.1:9",
      });
      for (const id of ["pa", "pb"]) {
        const port = await freePort();
        const yaml = `${base}coordinator:
  ha:
    id: ${id}
    url: http://127.0.0.1:${port}
    etcd: { endpoints: [${etcd.endpoints.join(", ")}], prefix: /hm-page/, leaseTtl: 2s }
`;
        members.push(await startCoordinator(yaml, meshEnv(["p1"]), cleanup, { port: String(port) }));
      }
      const profile = mkdtempSync(join(tmpdir(), "healthmesh-chromium-"));
      cleanup.add(() => rmSync(profile, { recursive: true, force: true }));
      context = await chromium.launchPersistentContext(profile, {
        executablePath: chromiumPath,
        headless: true,
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--no-first-run",
          "--disable-background-networking",
        ],
      });
    }, 60_000);

    afterAll(async () => {
      await context?.close();
      await cleanup.run();
    });

    it("reads the next member when the coordinator that served it stops answering", async () => {
      const [first, second] = members;
      if (!first || !second) throw new Error("Two members are needed");
      // Both members must be in the cluster view the page learns from.
      await expect
        .poll(
          async () => {
            const response = await fetch(`${first.base}/v1/status`, {
              headers: { authorization: `Bearer ${TOKEN}` },
            });
            const body = (await response.json()) as { cluster?: { members: unknown[] } }; // our own status answer
            return body.cluster?.members.length;
          },
          { timeout: 15_000 },
        )
        .toBe(2);
      const page = await context.newPage();
      await page.goto(`${first.base}/#token=${TOKEN}`);
      const conn = page.getByRole("status");
      await expect.poll(() => conn.textContent(), { timeout: 15_000 }).toBe("live");
      await first.kill("SIGKILL");
      const other = second.base.replace("http://", "");
      await expect.poll(() => conn.textContent(), { timeout: 15_000 }).toBe(`live via ${other}`);
      // It keeps polling there: the header's time moves and the service is still shown.
      const updated = page.locator("#updated");
      const before = await updated.textContent();

      await expect.poll(() => updated.textContent(), { timeout: 10_000 }).not.toBe(before);
      expect(await conn.textContent()).toBe(`live via ${other}`);
      expect(await page.getByTestId("service-web").count()).toBe(1);
      await page.close();
    }, 60_000);
  },
);
