/**
 * Config checks for what a DNS provider would refuse at the first failover (CONTRACT §3/§4a): run by
 * `validate` and at the coordinator's start alike, offline — starting never waits on a provider's API.
 */
import type { Config } from "./config-schema.ts";

/** One problem found, at a YAML path. */
export interface DnsConfigIssue {
  path: PropertyKey[];
  message: string;
}

/** Cloudflare takes a TTL of 1 (automatic) or 60 to 86400 seconds. */
export function cloudflareTtlOk(ttl: number): boolean {
  return ttl === 1 || (ttl >= 60 && ttl <= 86_400);
}

/** Router TTLs Cloudflare refuses, apex CNAME routers, and paths of mixed kinds. */
export function dnsConfigIssues(config: Config): DnsConfigIssue[] {
  const issues: DnsConfigIssue[] = [];
  config.services.forEach((svc, i) => {
    const ttl = svc.cloudflare?.ttl ?? svc.ttl;
    if (config.providers.cloudflare && !cloudflareTtlOk(ttl)) {
      const own = svc.cloudflare?.ttl !== undefined;
      issues.push({
        path: own ? ["services", i, "cloudflare", "ttl"] : ["services", i, "ttl"],
        message: `TTL ${ttl} is one Cloudflare refuses (it takes 1 for automatic, or 60 to 86400): every switch of "${svc.router}" on Cloudflare would fail. Set services[${i}].cloudflare.ttl to 60 or more`,
      });
    }
    const kinds = (["primary", "secondary"] as const).map((p) => (svc[p].addresses ? "addresses" : "target"));
    if (svc.router === "@") {
      for (const endpoint of ["primary", "secondary"] as const) {
        if (svc[endpoint].addresses) continue;
        issues.push({
          path: ["services", i, endpoint, "target"],
          message: `Router "@" is the zone apex, which cannot be a CNAME (the apex holds NS and SOA; deSEC and the DNS standard refuse a CNAME there): give services[${i}].${endpoint}.addresses (the path's IPv4 and/or IPv6 addresses) instead of target`,
        });
      }
    } else if (kinds[0] !== kinds[1]) {
      issues.push({
        path: ["services", i, "secondary"],
        message: `The primary gives ${kinds[0]} and the secondary ${kinds[1]}: a router is either a CNAME or an A/AAAA pair, never switched between the two (that would replace a record of another type). Give both paths target, or both addresses`,
      });
    }
  });
  return issues;
}
