/** What each stand-in's nameservers serve: its record store, as the provider's own nameservers would. */
import type { CloudflareStandin } from "./cloudflare.ts";
import type { DesecStandin } from "./desec.ts";
import type { ServedRrset } from "./dns-server.ts";

/** What the deSEC stand-in's store serves for one domain, with deSEC's own DNSKEY at the apex (it signs every domain). */
export function desecSource(standin: DesecStandin, domain: string): () => ServedRrset[] {
  return () => {
    const state = standin.domains.get(domain);
    const own: ServedRrset[] = state
      ? [{ name: domain, type: "DNSKEY", ttl: 3600, values: [state.key.text] }]
      : [];
    return [
      ...own,
      ...[...standin.rrsets(domain).values()].map((r) => ({
        name: r.name,
        type: r.type,
        ttl: r.ttl,
        values: [...r.records],
      })),
    ];
  };
}

/** An address Cloudflare's edge answers with for a proxied name (its own anycast, never the origin). */
const CLOUDFLARE_EDGE = "104.16.132.229";

/**
 * What the Cloudflare stand-in's store serves for one zone: records grouped into RRsets, proxied names
 * as edge addresses, TTL 1 as 300, its KSK while DNSSEC is on, and DNSKEY records of other signers only
 * with multi-signer DNSSEC on.
 */
export function cloudflareSource(standin: CloudflareStandin, zone: string): () => ServedRrset[] {
  return () => {
    const settings = [...standin.zones.values()].find((z) => z.name === zone);
    const signing = settings?.dnssec.status !== "disabled" && settings?.dnssec.key;
    const sets = new Map<string, ServedRrset>();
    if (signing)
      sets.set(`${zone}|DNSKEY`, { name: zone, type: "DNSKEY", ttl: 3600, values: [signing.text] });
    // Cloudflare always serves its own NS at the apex; other providers' only with multi-provider DNS on.
    sets.set(`${zone}|NS`, {
      name: zone,
      type: "NS",
      ttl: 86_400,
      values: [...(settings?.nameServers ?? [])],
    });
    for (const r of standin.records(zone).values()) {
      if (r.type === "DNSKEY" && !(signing && settings?.dnssec.multiSigner)) continue;
      if (r.type === "NS" && r.name.toLowerCase() === zone && !settings?.multiProvider) continue;
      const type = r.proxied ? "A" : r.type;
      const value = r.proxied ? CLOUDFLARE_EDGE : r.content;
      const key = `${r.name.toLowerCase()}|${type}`;
      const set = sets.get(key) ?? { name: r.name, type, ttl: r.ttl === 1 ? 300 : r.ttl, values: [] };
      if (!set.values.includes(value)) set.values.push(value);
      sets.set(key, set);
    }
    return [...sets.values()];
  };
}
