/**
 * `healthmesh demo`: the whole mesh on loopback. Two origins, three push probes, the coordinator with
 * its SQLite store, in-memory DNS and a webhook sink; the primary goes down, the mesh fails over,
 * the primary comes back, the mesh fails back. Prints the timeline and exits by itself.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCoordinator } from "../coordinator/node.ts";
import type { AuditEvent } from "../coordinator/store/store.ts";
import { PushProbe } from "../probes/push.ts";
import { systemClock } from "../shared/clock.ts";
import { configFromObject } from "../shared/config.ts";
import { silentLogger } from "../shared/log.ts";
import { startCloudflareStandin } from "../standins/cloudflare.ts";
import { startDesecStandin } from "../standins/desec.ts";
import { cloudflareSource, desecSource, startDnsServer } from "../standins/dns-server.ts";
import { type Origin, startOrigin, startSink } from "./origins.ts";

const PROBES = [
  { id: "deno-fra", provider: "deno-deploy", region: "eu-central" },
  { id: "fly-iad", provider: "fly", region: "us-east" },
  { id: "vps-hel", provider: "hetzner", region: "eu-north" },
];

/** Runs the demo; resolves to the exit code. */
export async function runDemo(options: {
  write: (line: string) => void;
  timeoutMs?: number;
}): Promise<number> {
  const started = Date.now();
  const stamp = () => `+${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;
  const say = (line: string) => options.write(`${stamp()}  ${line}`);
  const dataDir = mkdtempSync(join(tmpdir(), "healthmesh-demo-"));
  const primary = await startOrigin("cf-front");
  const secondary = await startOrigin("cdn2-front");
  const sink = await startSink();
  const env: Record<string, string> = {
    HEALTHMESH_API_TOKEN: crypto.randomUUID(),
    CLOUDFLARE_API_TOKEN: crypto.randomUUID().replace(/-/g, ""),
    DESEC_TOKEN: crypto.randomUUID().replace(/-/g, ""),
    ALERT_WEBHOOK_URL: `${sink.url}/alerts`,
    ALERT_WEBHOOK_SECRET: `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))}`,
  };
  const cloudflare = await startCloudflareStandin({
    tokens: [env.CLOUDFLARE_API_TOKEN ?? ""],
    zones: [{ name: "example.com" }],
  });
  const desec = await startDesecStandin({
    tokens: [env.DESEC_TOKEN ?? ""],
    domains: [{ name: "example.com", minimumTtl: 3600 }],
  });
  // Each stand-in's nameserver serves its store over DNS: the coordinator asks them what the world sees.
  const cloudflareNs = await startDnsServer({
    zone: "example.com",
    source: cloudflareSource(cloudflare.standin, "example.com"),
  });
  const desecNs = await startDnsServer({
    zone: "example.com",
    source: desecSource(desec.standin, "example.com"),
  });
  for (const p of PROBES) env[`SECRET_${p.id.replace(/-/g, "_").toUpperCase()}`] = crypto.randomUUID();
  const config = configFromObject({
    zone: "example.com",
    providers: {
      cloudflare: {
        tokenEnv: "CLOUDFLARE_API_TOKEN",
        apiBase: cloudflare.apiBase,
        nameservers: [cloudflareNs.address],
      },
      desec: { tokenEnv: "DESEC_TOKEN", apiBase: desec.apiBase, nameservers: [desecNs.address] },
    },
    services: [
      {
        name: "web",
        router: "web-router",
        ttl: 60,
        desec: { ttl: 3600 },
        primary: {
          target: "cf-front.example.com.",
          check: { url: `${primary.url}/healthz`, bodyContains: "ok", timeout: "800ms" },
        },
        secondary: {
          target: "cdn2-front.example.com.",
          check: { url: `${secondary.url}/healthz`, timeout: "800ms" },
        },
        failAfter: 3,
        recoverAfter: 3,
        holdDown: "5s",
      },
    ],
    alerts: [
      {
        type: "webhook",
        urlEnv: "ALERT_WEBHOOK_URL",
        secretEnv: "ALERT_WEBHOOK_SECRET",
        events: ["failover", "failback", "dns.switched", "dns.error", "both-down"],
        groupWait: "2s",
        repeatInterval: "0s",
      },
    ],
    probes: {
      interval: "1s",
      members: PROBES.map((p) => ({
        ...p,
        mode: "push",
        secretEnv: `SECRET_${p.id.replace(/-/g, "_").toUpperCase()}`,
      })),
    },
  });
  const events: AuditEvent[] = [];
  const running = await startCoordinator({
    config,
    dataDir,
    host: "127.0.0.1",
    port: 0,
    env,
    log: silentLogger,
    onEvents: (stored) => {
      for (const event of stored) {
        events.push(event);
        if (event.type !== "coordinator.started") say(`event ${event.type.padEnd(12)} ${event.message}`);
      }
    },
  });
  say(
    `coordinator on ${running.url}; origins ${primary.url} (primary), ${secondary.url} (secondary); sink ${sink.url}`,
  );
  say(
    `status page: ${running.url}/#token=${env.HEALTHMESH_API_TOKEN} (live while the demo runs; API docs at ${running.url}/docs)`,
  );
  say("config: interval 1s, failAfter 3, recoverAfter 3, holdDown 5s, quorum = majority of 3 probes");
  const probes = PROBES.map(
    (p) =>
      new PushProbe({
        id: p.id,
        secret: env[`SECRET_${p.id.replace(/-/g, "_").toUpperCase()}`] ?? "",
        coordinators: [running.url],
        fetch,
        clock: systemClock(),
        log: silentLogger,
      }),
  );
  for (const probe of probes) probe.start();

  let lastTally = "";
  let alertsShown = 0;
  const alertsOf = (type: string) => sink.received.filter((r) => (r.body as { type?: string }).type === type); // the sink keeps parsed JSON bodies
  const watch = setInterval(() => {
    for (const alert of sink.received.slice(alertsShown)) {
      const body = alert.body as { type?: string; data?: { title?: string } }; // our webhook's JSON shape
      say(
        `alert -> webhook sink: ${body.type}: ${body.data?.title} (${alert.headers["webhook-id"]}, signed ${alert.headers["webhook-signature"]?.slice(0, 12)}…)`,
      );
    }
    alertsShown = sink.received.length;
    const svc = running.coordinator.verdicts("web");
    const line = `votes primary ${svc.primary.verdict.toUpperCase()} (down ${svc.primary.votes.down}, up ${svc.primary.votes.up}, abstain ${svc.primary.votes.abstain}) · secondary ${svc.secondary.verdict.toUpperCase()} (up ${svc.secondary.votes.up})`;
    if (line !== lastTally) say(line);
    lastTally = line;
  }, 100);

  const deadline = started + (options.timeoutMs ?? 55_000);
  const rows = () =>
    running.coordinator.reconciler.states().filter((r) => r.router === "web-router.example.com");
  // Served means the APIs confirmed it and both providers' nameservers answer it over DNS.
  const nameserversServe = (target: string) =>
    (running.coordinator.nameservers?.serving() ?? []).filter((n) => n.matches && n.values?.[0] === target)
      .length === 2;
  const servedBy = (target: string) =>
    rows().length === 2 &&
    rows().every((r) => r.state === "in-sync" && r.target === target) &&
    nameserversServe(target);
  const showDns = () => {
    const cf = [...cloudflare.standin.records("example.com").values()].find(
      (r) => r.name === "web-router.example.com",
    );
    const ds = desec.standin.rrsets("example.com").get("web-router/CNAME");
    say(
      `  Cloudflare API serves web-router CNAME ${cf?.content ?? "(none)"} TTL ${cf?.ttl ?? "-"}; deSEC API serves ${ds?.records[0] ?? "(none)"} TTL ${ds?.ttl ?? "-"}`,
    );
    const served = running.coordinator.nameservers?.serving() ?? [];
    say(
      `  their nameservers answer (DNS): ${served.map((n) => `${n.provider} ${n.values?.join(", ") ?? "?"}`).join("; ")}`,
    );
  };
  const waitFor = async (what: string, test: () => boolean) => {
    while (!test()) {
      if (Date.now() > deadline) throw new Error(`Demo timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  let code = 0;
  try {
    await waitFor(
      "the primary to be voted up",
      () => running.coordinator.verdicts("web").primary.verdict === "up",
    );
    await waitFor("DNS to be in sync", () => servedBy("cf-front.example.com."));
    say(
      `router web-router -> cf-front.example.com. on ${rows()
        .map((r) => r.provider)
        .join(" and ")}`,
    );
    showDns();
    say(">>> taking the primary origin DOWN (503)");
    setDown(primary, true);
    const downAt = Date.now();
    await waitFor("the switch to the secondary", () => servedBy("cdn2-front.example.com."));
    const switchMs = Date.now() - downAt;
    say(
      `router web-router -> cdn2-front.example.com. on both providers: switched ${(switchMs / 1000).toFixed(2)} s after the primary went down (expected about 0.5-2 s: the first failed check comes within 1 s, then fast confirmation re-checks every 250 ms, probes.confirmInterval, until the 3rd failure of a majority; 2-4 s with confirmInterval 0s)`,
    );
    showDns();
    say(">>> bringing the primary origin back UP");
    setDown(primary, false);
    await waitFor("the fail-back", () => servedBy("cf-front.example.com."));
    say("router web-router -> cf-front.example.com. on both providers: failed back");
    showDns();
    await waitFor("the fail-back alert", () => alertsOf("healthmesh.failback").length > 0);
    await new Promise((resolve) => setTimeout(resolve, 150));
    say(
      `done: ${events.filter((e) => e.type === "failover" || e.type === "failback").length} switches, ${events.filter((e) => e.type === "dns.switched").length} DNS writes confirmed, ${alertsOf("healthmesh.failover").length} failover and ${alertsOf("healthmesh.failback").length} fail-back alert(s) of ${sink.received.length} signed webhook deliveries`,
    );
  } catch (error) {
    say(`demo failed: ${(error as Error).message}`);
    code = 1;
  } finally {
    clearInterval(watch);
    for (const probe of probes) probe.stop();
    await running.close();
    await Promise.all([primary.close(), secondary.close(), sink.close(), cloudflare.close(), desec.close()]);
    await Promise.all([cloudflareNs.stop(), desecNs.stop()]);
    rmSync(dataDir, { recursive: true, force: true });
  }
  return code;
}

function setDown(origin: Origin, down: boolean): void {
  origin.up = !down;
}
