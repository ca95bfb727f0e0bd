/**
 * The status page in a real browser: headless Chromium opens `GET /` of a real coordinator on
 * loopback, fed by three real push probes checking two loopback origins; the primary origin goes
 * down and the page must show the failover, the DNS divergence and a stale probe by itself.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DnsError } from "../../coordinator/dns/errors.ts";
import { MemoryDnsProvider } from "../../coordinator/dns/memory.ts";
import { type RunningCoordinator, startCoordinator } from "../../coordinator/node.ts";
import { type Origin, startOrigin } from "../../demo/origins.ts";
import { PushProbe } from "../../probes/push.ts";
import { systemClock } from "../../shared/clock.ts";
import { configFromObject } from "../../shared/config.ts";
import { silentLogger } from "../../shared/log.ts";
import { describeWithBinary } from "../support/binaries.ts";

// The README's screenshot is refreshed only on request (HEALTHMESH_SCREENSHOT=1), so that a test run
// leaves the work tree clean; otherwise the shot still goes to the temp dir for a look.
const SCREENSHOT = process.env.HEALTHMESH_SCREENSHOT
  ? join(dirname(fileURLToPath(import.meta.url)), "../../docs/status-page.png")
  : join(tmpdir(), "healthmesh-status-page.png");

const PROBES = [
  { id: "deno-fra", provider: "deno-deploy", region: "eu-central" },
  { id: "fly-iad", provider: "fly", region: "us-east" },
  { id: "vps-hel", provider: "hetzner", region: "eu-north" },
];
const TOKEN = crypto.randomUUID();

/** Waits until `selector`'s text is `text` in the page (polling in the browser, no reload). */
async function waitForText(page: Page, selector: string, text: string, timeout = 20_000): Promise<void> {
  await page.waitForFunction(
    ([sel, want]) => document.querySelector(sel ?? "")?.textContent === want,
    [selector, text] as const,
    { timeout },
  );
}

const CHROMIUM = ["chromium", "chromium-browser", "google-chrome"];

describeWithBinary(
  "status page in headless Chromium",
  CHROMIUM,
  { install: "apt-get install chromium" },
  (chromiumPath) => {
    let primary: Origin;
    let secondary: Origin;
    let running: RunningCoordinator;
    let probes: PushProbe[];
    let context: BrowserContext;
    const dirs: string[] = [];
    const desec = new MemoryDnsProvider("desec");

    beforeAll(async () => {
      primary = await startOrigin("cf-front");
      secondary = await startOrigin("cdn2-front");
      const env: Record<string, string> = { HEALTHMESH_API_TOKEN: TOKEN };
      for (const p of PROBES) env[`SECRET_${p.id.replace(/-/g, "_").toUpperCase()}`] = `secret-${p.id}`;
      const config = configFromObject({
        zone: "example.com",
        providers: { memory: {} },
        services: [
          {
            name: "web",
            router: "web-router",
            primary: {
              target: "cf-front.example.com.",
              check: { url: `${primary.url}/healthz`, timeout: "400ms" },
            },
            secondary: {
              target: "cdn2-front.example.com.",
              check: { url: `${secondary.url}/healthz`, timeout: "400ms" },
            },
            failAfter: 2,
            recoverAfter: 2,
            holdDown: "0s",
          },
        ],
        probes: {
          interval: "500ms",
          members: PROBES.map((p) => ({
            ...p,
            secretEnv: `SECRET_${p.id.replace(/-/g, "_").toUpperCase()}`,
          })),
        },
      });
      const dataDir = mkdtempSync(join(tmpdir(), "healthmesh-ui-"));
      dirs.push(dataDir);
      running = await startCoordinator({
        config,
        dataDir,
        host: "127.0.0.1",
        port: 0,
        env,
        log: silentLogger,
        // two in-memory providers named like the real ones, so the page shows a per-provider view
        providers: [new MemoryDnsProvider("cloudflare"), desec],
      });
      probes = PROBES.map(
        (p) =>
          new PushProbe({
            id: p.id,
            secret: `secret-${p.id}`,
            coordinators: [running.url],
            fetch,
            clock: systemClock(),
            log: silentLogger,
          }),
      );
      for (const probe of probes) probe.start();
      const profile = mkdtempSync(join(tmpdir(), "healthmesh-chromium-"));
      dirs.push(profile);
      context = await chromium.launchPersistentContext(profile, {
        executablePath: chromiumPath,
        headless: true,
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
        ],
        viewport: { width: 1100, height: 900 },
      });
    }, 60_000);

    afterAll(async () => {
      await context?.close();
      for (const probe of probes ?? []) probe.stop();
      await running?.close();
      await Promise.all([primary?.close(), secondary?.close()]);
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });

    it("shows a failover, a DNS divergence and a stale probe without a reload", async () => {
      const page = await context.newPage();
      const requests: string[] = [];
      const errors: string[] = [];
      let navigations = 0;
      page.on("pageerror", (error) => errors.push(error.message));
      page.on("request", (request) => requests.push(request.url()));
      page.on("framenavigated", (frame) => {
        if (frame === page.mainFrame()) navigations++;
      });
      await page.goto(`${running.url}/#token=${TOKEN}`);
      await waitForText(page, '[data-testid="verdict-web-primary"] .big', "up");
      await waitForText(page, '[data-testid="active-web"]', "primary");
      expect(await page.evaluate(() => location.hash)).toBe(""); // the token left the address bar
      await page.evaluate(() => Object.assign(window, { healthmeshMarker: "same document" }));
      navigations = 0; // the page's own replaceState (dropping the token) counted as one

      desec.fault = new DnsError("desec", "Cannot reach deSEC: simulated outage", { retryable: true });
      primary.up = false;
      await waitForText(page, '[data-testid="active-web"]', "secondary");
      await page.waitForSelector('[data-testid="timeline"] li[data-type="failover"]');
      await page.waitForSelector('[data-testid="divergence-web"]');
      expect(await page.getAttribute('[data-testid="dns-web-desec"]', "data-divergent")).toBe("true");
      await waitForText(page, '[data-testid="verdict-web-primary"] .big', "down");

      desec.fault = null;
      running.coordinator.reconciler.kick("desec");
      await page.waitForSelector('[data-testid="dns-web-desec"][data-divergent="false"]');
      expect(await page.$('[data-testid="divergence-web"]')).toBeNull();

      probes[2]?.stop();
      await page.waitForSelector('[data-testid="probe-web-vps-hel"][data-stale="true"]');
      expect(await page.textContent('[data-testid="probe-web-vps-hel"]')).toContain("stale");
      await page.waitForSelector('[data-testid="chart-web-primary"] circle'); // failed checks are drawn

      expect(await page.evaluate(() => (window as { healthmeshMarker?: string }).healthmeshMarker)).toBe(
        "same document",
      ); // a reload would have dropped it
      expect(navigations).toBe(0);
      const foreign = requests.filter((url) => !url.startsWith(`${running.url}/`));
      expect(foreign).toEqual([]);
      expect(errors).toEqual([]);
      mkdirSync(dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
    }, 60_000);

    it("asks for the token when the page is not public, then shows the status", async () => {
      const page = await context.newPage(); // sessionStorage is per tab: this one has no token
      await page.goto(running.url);
      await page.waitForSelector("form.login");
      await page.fill("form.login input", TOKEN);
      await page.click("form.login button");
      await page.waitForSelector('[data-testid="active-web"]');
      expect(await page.textContent('[data-testid="service-web"] h2')).toBe("web");
      await page.close();
    });

    it("fits a phone's width without horizontal scrolling", async () => {
      const page = await context.newPage();
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(`${running.url}/#token=${TOKEN}`);
      await page.waitForSelector('[data-testid="service-web"]');
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(0);
      await page.close();
    });

    it("renders the OpenAPI document at /docs from the package alone", async () => {
      const page = await context.newPage();
      const requests: string[] = [];
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      page.on("request", (request) => requests.push(request.url()));
      const doc = (await (await fetch(`${running.url}/openapi.json`)).json()) as {
        paths: Record<string, object>;
      };
      const operations = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0);
      await page.goto(`${running.url}/docs`);
      await page.waitForFunction((n) => document.querySelectorAll("details.op").length === n, operations);
      await page.click("#post-v1-reports summary");
      expect(await page.textContent("#post-v1-reports")).toContain("413");
      expect(requests.filter((url) => !url.startsWith(`${running.url}/`))).toEqual([]);
      expect(errors).toEqual([]);
      await page.close();
    });
  },
);
