/**
 * Where each provider's authoritative nameservers are: `providers.X.nameservers` when configured (tests
 * point them at loopback), else what the provider says — Cloudflare's zone `name_servers`, deSEC's
 * published ns1.desec.io/ns2.desec.org, PowerDNS's API host on port 53. Names are resolved once and
 * kept for an hour; a failed lookup is tried again at the next check.
 */
import type { Clock } from "../../shared/clock.ts";
import type { Config } from "../../shared/config-schema.ts";
import type { NameserverAddress, NameserverClient } from "./nameserver.ts";
import { parseAddress } from "./nameserver.ts";
import { cloudflareNameservers, DESEC_NAMESERVERS, type FactsWorld } from "./nameserver-facts.ts";
import type { WatchedProvider } from "./nameserver-watch.ts";

const KEEP_MS = 3_600_000;
/** After a failed lookup (an API or the resolver), the next try waits this long: checks must not spend API budget. */
const RETRY_MS = 300_000;

/** One `WatchedProvider` per configured provider that has nameservers (the in-memory provider has none unless configured). */
export function nameserverSources(
  config: Config,
  world: FactsWorld & { client: NameserverClient; clock: Clock },
): WatchedProvider[] {
  const out: WatchedProvider[] = [];
  for (const [name, settings] of Object.entries(config.providers)) {
    if (!settings) continue;
    const configured = settings.nameservers;
    let names: (() => Promise<string[]>) | null = configured ? async () => configured : null;
    if (!names && name === "cloudflare" && config.providers.cloudflare) {
      const cf = config.providers.cloudflare;
      names = () => cloudflareNameservers(config.zone, cf, world);
    }
    if (!names && name === "desec") names = async () => DESEC_NAMESERVERS;
    if (!names && name === "powerdns" && config.providers.powerdns) {
      const host = new URL(config.providers.powerdns.apiBase).hostname;
      names = async () => [host];
    }
    if (names) out.push({ name, servers: cached(names, world) });
  }
  return out;
}

function cached(
  names: () => Promise<string[]>,
  world: { client: NameserverClient; clock: Clock },
): () => Promise<NameserverAddress[]> {
  let kept: { at: number; servers: NameserverAddress[] } | null = null;
  let failed: { at: number; error: Error } | null = null;
  return async () => {
    const now = world.clock.now();
    if (kept && now - kept.at < KEEP_MS) return kept.servers;
    if (failed && now - failed.at < RETRY_MS) throw failed.error;
    try {
      const servers: NameserverAddress[] = [];
      for (const text of await names()) {
        const address = parseAddress(text);
        for (const ip of await world.client.resolve(address.host))
          servers.push({ host: ip, port: address.port });
      }
      if (servers.length === 0) throw new Error("no nameserver address found");
      kept = { at: now, servers };
      failed = null;
      return servers;
    } catch (error) {
      failed = { at: now, error: error instanceof Error ? error : new Error(String(error)) };
      throw failed.error;
    }
  };
}
