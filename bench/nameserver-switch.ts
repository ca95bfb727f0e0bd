/**
 * Measures the time from a decision (an operator pin, stored before any write) to every provider's
 * own nameservers answering the new target over DNS — what resolvers are given — on the Cloudflare
 * and deSEC stand-ins (each serving its store over DNS on loopback) and on a real PowerDNS. The
 * baseline, measured in the same run, is decision → every provider's API confirming the write
 * (`dns.switched`); the ratio says what the nameservers add. Also: when the coordinator's own
 * nameserver watch first shows every provider serving the decision.
 * Run: npx tsx bench/nameserver-switch.ts [rounds]
 */
import { Coordinator } from "../coordinator/coordinator.ts";
import { createProviders } from "../coordinator/dns/factory.ts";
import type { NameserverAddress } from "../coordinator/dns/nameserver.ts";
import { startNameserverWatch } from "../coordinator/dns/nameserver-node.ts";
import { routerValues } from "../coordinator/dns/nameserver-serving.ts";
import { UdpNameserverClient } from "../coordinator/dns/nameserver-udp.ts";
import { MemoryStore } from "../coordinator/store/memory.ts";
import type { AuditEvent } from "../coordinator/store/store.ts";
import { systemClock } from "../shared/clock.ts";
import { configFromObject } from "../shared/config.ts";
import type { Config } from "../shared/config-schema.ts";
import { silentLogger } from "../shared/log.ts";
import { startCloudflareStandin } from "../standins/cloudflare.ts";
import { startDesecStandin } from "../standins/desec.ts";
import { cloudflareSource, desecSource, startDnsServer } from "../standins/dns-server.ts";
import { PDNS_INSTALL, startPdns } from "../test/pdns/pdns-server.ts";
import { findBinary } from "../test/support/binaries.ts";

const ZONE = "example.com";
const ROUTER = `web-router.${ZONE}`;
const TARGETS = { primary: "a.example.net.", secondary: "b.example.net." } as const;
const rounds = Number(process.argv[2] ?? 20);

interface Sample {
  api: number;
  nameservers: number;
  watch: number;
}

function service(extra: Record<string, unknown> = {}) {
  return {
    name: "web",
    router: "web-router",
    ...extra,
    primary: { target: TARGETS.primary, check: { url: "https://a.example.net/" } },
    secondary: { target: TARGETS.secondary, check: { url: "https://b.example.net/" } },
  };
}

async function measure(
  config: Config,
  env: Record<string, string>,
  servers: NameserverAddress[],
): Promise<Sample[]> {
  const clock = systemClock();
  const client = new UdpNameserverClient();
  const switched = new Set<string>();
  let apiAt = 0;
  let kick: (events: AuditEvent[]) => void = () => {};
  const providerCount = Object.values(config.providers).filter(Boolean).length;
  const coordinator = await Coordinator.open({
    config,
    store: new MemoryStore(),
    clock,
    log: silentLogger,
    providers: createProviders(config, { env: (n) => env[n], fetch, clock }),
    onEvents: (events) => {
      for (const e of events) if (e.type === "dns.switched" && e.provider) switched.add(e.provider);
      if (apiAt === 0 && switched.size === providerCount) apiAt = performance.now();
      kick(events);
    },
  });
  const running = startNameserverWatch(coordinator, {
    env: (n) => env[n],
    fetch,
    clock,
    log: silentLogger,
    client,
  });
  kick = (events) => running.onEvents(events);
  const serves = async (target: string) => {
    const answers = await Promise.all(
      servers.map((s) =>
        client.query(s, { name: ROUTER, type: "CNAME" }).then((a) => routerValues(a.answers, ROUTER)),
      ),
    );
    return answers.every((values) => values.length === 1 && values[0] === target);
  };
  const watchSees = (target: string) =>
    (running.watch?.serving() ?? []).filter((s) => s.values?.[0] === target && s.matches).length ===
    providerCount;
  const samples: Sample[] = [];
  try {
    while (!(await serves(TARGETS.primary))) await new Promise((r) => setTimeout(r, 5));
    for (let i = 0; i < rounds; i++) {
      const to = i % 2 === 0 ? "secondary" : "primary";
      switched.clear();
      apiAt = 0;
      const decided = performance.now();
      await coordinator.failover("web", to, { actor: "bench" });
      let nsAt = 0;
      let watchAt = 0;
      while (nsAt === 0 || watchAt === 0 || apiAt === 0) {
        if (nsAt === 0 && (await serves(TARGETS[to]))) nsAt = performance.now();
        if (watchAt === 0 && watchSees(TARGETS[to])) watchAt = performance.now();
        await new Promise((r) => setTimeout(r, 1));
      }
      samples.push({ api: apiAt - decided, nameservers: nsAt - decided, watch: watchAt - decided });
      // Stay under deSEC's write throttle (2/s per domain): a 429 would measure its Retry-After, not DNS.
      await new Promise((r) => setTimeout(r, 1100));
    }
  } finally {
    await running.stop();
    coordinator.stop();
    await coordinator.reconciler.idle();
  }
  return samples;
}

async function standins(): Promise<Sample[]> {
  const cf = await startCloudflareStandin({ tokens: ["cf"], zones: [{ name: ZONE }] });
  const desec = await startDesecStandin({ tokens: ["ds"], domains: [{ name: ZONE }] });
  const cfNs = await startDnsServer({ zone: ZONE, source: cloudflareSource(cf.standin, ZONE) });
  const desecNs = await startDnsServer({ zone: ZONE, source: desecSource(desec.standin, ZONE) });
  try {
    const config = configFromObject({
      zone: ZONE,
      providers: {
        cloudflare: { tokenEnv: "CF", apiBase: cf.apiBase, nameservers: [cfNs.address] },
        desec: { tokenEnv: "DS", apiBase: desec.apiBase, nameservers: [desecNs.address] },
      },
      services: [service({ desec: { ttl: 3600 } })],
      probes: { members: [{ id: "p1", provider: "a", secretEnv: "S" }] },
    });
    const servers = [cfNs, desecNs].map((s) => ({ host: "127.0.0.1", port: s.port }));
    return await measure(config, { CF: "cf", DS: "ds" }, servers);
  } finally {
    await Promise.all([cfNs.stop(), desecNs.stop(), cf.close(), desec.close()]);
  }
}

async function powerdns(): Promise<Sample[] | null> {
  const binary = findBinary("pdns_server");
  if (!binary) return null;
  const pdns = await startPdns(binary);
  try {
    await fetch(`${pdns.apiBase}/servers/localhost/zones`, {
      method: "POST",
      headers: { "x-api-key": pdns.apiKey, "content-type": "application/json" },
      body: JSON.stringify({ name: `${ZONE}.`, kind: "Native", nameservers: [`ns1.${ZONE}.`] }),
    });
    const address = `127.0.0.1:${pdns.dnsPort}`;
    const config = configFromObject({
      zone: ZONE,
      providers: { powerdns: { apiBase: pdns.apiBase, apiKeyEnv: "K", nameservers: [address] } },
      services: [service()],
      probes: { members: [{ id: "p1", provider: "a", secretEnv: "S" }] },
    });
    return await measure(config, { K: pdns.apiKey }, [{ host: "127.0.0.1", port: pdns.dnsPort }]);
  } finally {
    await pdns.stop();
  }
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

function report(name: string, samples: Sample[]): void {
  const row = (label: string, values: number[]) =>
    `  ${label.padEnd(50)} median ${quantile(values, 0.5).toFixed(1).padStart(7)} ms   p90 ${quantile(values, 0.9).toFixed(1).padStart(7)} ms`;
  const api = samples.map((s) => s.api);
  const ns = samples.map((s) => s.nameservers);
  console.log(`${name} (${samples.length} switches):`);
  console.log(row("decision → every API confirmed (baseline)", api));
  console.log(row("decision → every provider's nameservers serve it", ns));
  console.log(
    row(
      "decision → the coordinator's watch shows it",
      samples.map((s) => s.watch),
    ),
  );
  console.log(`  ratio nameservers / API (medians): ${(quantile(ns, 0.5) / quantile(api, 0.5)).toFixed(2)}`);
}

report("Stand-ins (Cloudflare + deSEC, nameservers on loopback)", await standins());
const pdns = await powerdns();
if (pdns) report("PowerDNS 4 (real pdns_server, sqlite3, loopback)", pdns);
else console.log(`PowerDNS: pdns_server not found, skipped (${PDNS_INSTALL})`);
