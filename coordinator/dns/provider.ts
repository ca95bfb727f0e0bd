/** The DNS provider port: read the routers' current records, write their CNAMEs in as few calls as possible. */

/** What a provider serves at a router name. */
export interface RouterRecord {
  /** FQDN without the trailing dot. */
  name: string;
  /** The record type found there; a router must be a CNAME, anything else is a conflict. */
  type: string;
  /** For a CNAME, the target FQDN with the trailing dot; otherwise the first value. */
  target: string;
  ttl: number;
}

/** One router CNAME to write. */
export interface RouterChange {
  /** FQDN without the trailing dot. */
  name: string;
  /** Target FQDN with the trailing dot. */
  target: string;
  ttl: number;
}

/** One authoritative DNS provider, as the reconciler sees it. */
export interface DnsProvider {
  /** The config key: `cloudflare`, `desec`, `powerdns` or `memory`. */
  readonly name: string;
  /** Reads what each name holds; a name with no record maps to null. Throws `DnsError`. */
  readRouters(names: readonly string[]): Promise<Map<string, RouterRecord | null>>;
  /** Creates or overwrites these CNAMEs; a mass failover is one call (batch/bulk) where the API allows. Throws `DnsError`. */
  writeRouters(changes: readonly RouterChange[]): Promise<void>;
}
