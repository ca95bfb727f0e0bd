/** The DNS provider ports: routers (failover) and declared records (zone sync), one implementation per provider. */
import { addressValue, formatRouterValue, parseRouterValue } from "../../shared/router-value.ts";

export { formatRouterValue, parseRouterValue, type RouterValue } from "../../shared/router-value.ts";

/** The `type` of a `RouterRecord` for an address router: the A and/or AAAA RRsets at the name, read as one. */
export const ADDRESS_TYPE = "A/AAAA";

/** The record type a router value is served as: `CNAME` for a target, `A/AAAA` for an address set. */
export function routerType(value: string): "CNAME" | typeof ADDRESS_TYPE {
  return parseRouterValue(value).kind === "cname" ? "CNAME" : ADDRESS_TYPE;
}

/** What a provider serves at a router name. */
export interface RouterRecord {
  /** FQDN without the trailing dot. */
  name: string;
  /**
   * `CNAME`; `A/AAAA` when A and/or AAAA RRsets are there (and no CNAME); otherwise the first other type
   * found (a conflict for a CNAME router; for an address router, e.g. the apex's NS/MX, not its business).
   */
  type: string;
  /** The router value in its one string form (shared/router-value.ts); for another type, its first value. */
  target: string;
  ttl: number;
  /** Cloudflare only: served through Cloudflare's proxy, which hides the CNAME from resolvers; a router never is in sync so. */
  proxied?: boolean;
}

/** One router to write: a CNAME target, or an address set (A and/or AAAA; an empty family is deleted). */
export interface RouterChange {
  /** FQDN without the trailing dot. */
  name: string;
  /** The router value in its string form: a target FQDN with the trailing dot, or "192.0.2.1, 2001:db8::1". */
  target: string;
  ttl: number;
}

/** One RRset at a name, as a client hands it to `routerView`. */
export interface NameSet {
  type: string;
  values: readonly string[];
  ttl: number;
  proxied?: boolean;
}

/** What a name holds, as the reconciler compares it: a CNAME, else the A/AAAA pair, else the first other type. */
export function routerView(name: string, sets: readonly NameSet[]): RouterRecord | null {
  const proxied = (list: readonly NameSet[]) =>
    list.some((s) => s.proxied === true) ? { proxied: true } : {};
  const cname = sets.find((s) => s.type === "CNAME");
  if (cname) {
    const target = canonicalValue("CNAME", cname.values[0] ?? "");
    return { name, type: "CNAME", target, ttl: cname.ttl, ...proxied([cname]) };
  }
  const pair = sets.filter((s) => (s.type === "A" || s.type === "AAAA") && s.values.length > 0);
  if (pair.length > 0) {
    const ttls = new Set(pair.map((s) => s.ttl));
    const target = formatRouterValue(addressValue(pair.flatMap((s) => s.values)));
    // A and AAAA with different TTLs match no desired TTL, so the pair is rewritten as one.
    return {
      name,
      type: ADDRESS_TYPE,
      target,
      ttl: ttls.size === 1 ? (pair[0]?.ttl ?? 0) : -1,
      ...proxied(pair),
    };
  }
  const other = sets.find((s) => s.values.length > 0);
  return other ? { name, type: other.type, target: other.values[0] ?? "", ttl: other.ttl } : null;
}

/** The A and AAAA values an address router value asks for (empty lists for a CNAME value). */
export function addressFamilies(value: string): { A: string[]; AAAA: string[] } {
  const parsed = parseRouterValue(value);
  return parsed.kind === "addresses" ? { A: parsed.ipv4, AAAA: parsed.ipv6 } : { A: [], AAAA: [] };
}

/** Per call: an abort signal the caller's own timeout fires; `background` marks a drift check, which leaves API budget to switches. */
export interface CallOptions {
  signal?: AbortSignal;
  background?: boolean;
}

/** What a write's answer says each written router now serves (a router the answer does not show is read back). */
export type ServedRouters = Map<string, RouterRecord | null>;

/** One authoritative DNS provider, as the reconciler sees it. */
export interface DnsProvider {
  /** The config key: `cloudflare`, `desec`, `powerdns` or `memory`. */
  readonly name: string;
  /** How often an in-sync provider is re-read for drift, when its API budget asks for less than the reconciler's default. */
  readonly driftCheckMs?: number;
  /** Milliseconds until reading `count` routers fits the provider's API budget (absent: no budget to keep). */
  readDelay?(count: number, options?: { background?: boolean }): number;
  /** Reads what each name holds; a name with no record maps to null. Throws `DnsError`; `signal` aborts the requests. */
  readRouters(names: readonly string[], options?: CallOptions): Promise<Map<string, RouterRecord | null>>;
  /**
   * Creates or overwrites these routers; a mass failover is one call (batch/bulk) where the API allows.
   * Resolves with what the provider's answer says the written routers now serve, when it says so.
   * Throws `DnsError`; `signal` aborts the requests.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a client that learns nothing from its write's answer resolves with nothing
  writeRouters(changes: readonly RouterChange[], options?: CallOptions): Promise<ServedRouters | void>;
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
