/** The DNS provider ports: routers (failover) and declared records (zone sync), one implementation per provider. */

/** What a provider serves at a router name. */
export interface RouterRecord {
  /** FQDN without the trailing dot. */
  name: string;
  /** The record type found there; a router must be a CNAME, anything else is a conflict. */
  type: string;
  /** For a CNAME, the target FQDN with the trailing dot; otherwise the first value. */
  target: string;
  ttl: number;
  /** Cloudflare only: served through Cloudflare's proxy, which hides the CNAME from resolvers; a router never is in sync so. */
  proxied?: boolean;
}

/** One router CNAME to write. */
export interface RouterChange {
  /** FQDN without the trailing dot. */
  name: string;
  /** Target FQDN with the trailing dot. */
  target: string;
  ttl: number;
}

/** Per call: an abort signal the caller's own timeout fires. */
export interface CallOptions {
  signal?: AbortSignal;
}

/** One authoritative DNS provider, as the reconciler sees it. */
export interface DnsProvider {
  /** The config key: `cloudflare`, `desec`, `powerdns` or `memory`. */
  readonly name: string;
  /** How often an in-sync provider is re-read for drift, when its API budget asks for less than the reconciler's default. */
  readonly driftCheckMs?: number;
  /** Reads what each name holds; a name with no record maps to null. Throws `DnsError`; `signal` aborts the requests. */
  readRouters(names: readonly string[], options?: CallOptions): Promise<Map<string, RouterRecord | null>>;
  /** Creates or overwrites these routers; a mass failover is one call (batch/bulk) where the API allows. Throws `DnsError`; `signal` aborts the requests. */
  writeRouters(changes: readonly RouterChange[], options?: CallOptions): Promise<void>;
}

/** One record set as a provider holds it: every value of one name and type. */
export interface ZoneRecord {
  /** FQDN without the trailing dot. */
  name: string;
  type: string;
  /** Presentation format; host names carry the trailing dot, TXT values are unquoted. */
  values: string[];
  ttl: number;
  /** Cloudflare only: served through Cloudflare's proxy. */
  proxied?: boolean;
}

/** The zone-sync port: list every record set, create or replace some. */
export interface ZoneProvider {
  readonly name: string;
  /** Every record set of the zone. Throws `DnsError`. */
  listRecords(): Promise<ZoneRecord[]>;
  /** Creates or replaces these record sets (and nothing else), in as few calls as the API allows. Throws `DnsError`. */
  applyRecords(sets: readonly ZoneRecord[]): Promise<void>;
}

/** A value in the form zone sync compares: host names lowercased with a trailing dot, TXT unquoted. */
export function canonicalValue(type: string, value: string): string {
  const v = value.trim();
  if (type === "CNAME" || type === "NS") return (v.endsWith(".") ? v : `${v}.`).toLowerCase();
  if (type === "MX") {
    const [priority, host = ""] = v.split(/\s+/, 2);
    return `${priority} ${(host.endsWith(".") ? host : `${host}.`).toLowerCase()}`;
  }
  if (type === "TXT" && v.length >= 2 && v.startsWith('"') && v.endsWith('"')) return v.slice(1, -1);
  if (type === "AAAA") return v.toLowerCase();
  return v;
}
