/**
 * The nameserver port: ask one authoritative nameserver one question over plain DNS, as resolvers do.
 * The Node adapter (`nameserver-udp.ts`) speaks UDP with TCP fallback; the Workers coordinator has none.
 */

/** One nameserver to ask: an IP address or a host name, and a port (53 unless a test says otherwise). */
export interface NameserverAddress {
  host: string;
  port: number;
}

/** The record types healthmesh asks about. */
export type QueryType = "A" | "AAAA" | "CNAME" | "NS" | "SOA" | "DS" | "DNSKEY";

/** A DNSKEY as served: the key tag is computed from the RDATA (RFC 4034 appendix B). */
export interface DnskeyValue {
  flags: number;
  algorithm: number;
  keyTag: number;
  /** The public key, base64. */
  key: string;
  /** The whole RDATA (flags, protocol, algorithm, key), for DS digests. */
  rdata: Uint8Array;
}

/** A DS as served by the parent. */
export interface DsValue {
  keyTag: number;
  algorithm: number;
  digestType: number;
  /** Hex, lowercase. */
  digest: string;
}

/** One answer record in presentation form; host names end with a dot, lowercased. */
export type AnswerRecord =
  | { name: string; ttl: number; type: "A" | "AAAA" | "CNAME" | "NS"; value: string }
  | { name: string; ttl: number; type: "SOA"; value: string; serial: number }
  | { name: string; ttl: number; type: "DNSKEY"; value: string; dnskey: DnskeyValue }
  | { name: string; ttl: number; type: "DS"; value: string; ds: DsValue };

/** What a nameserver answered. */
export interface NameserverAnswer {
  /** `NOERROR`, `NXDOMAIN`, `REFUSED`, `SERVFAIL`, … */
  rcode: string;
  /** The AA bit: an authoritative server answering for its own zone sets it. */
  authoritative: boolean;
  answers: AnswerRecord[];
  /** The authority section: a parent's referral carries the delegation's NS here. */
  authorities: AnswerRecord[];
  /** Whether the answer came over TCP (the UDP answer was truncated). */
  tcp: boolean;
}

/** No usable answer: timeout, refused connection, malformed packet. Always worth retrying later. */
export class NameserverError extends Error {
  readonly server: string;
  constructor(server: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "NameserverError";
    this.server = server;
  }
}

/** Asks nameservers directly (no recursion, no cache). */
export interface NameserverClient {
  /** Sends one question; resolves to the answer, throws `NameserverError` when none usable came. */
  query(
    server: NameserverAddress,
    question: { name: string; type: QueryType },
    options?: { timeoutMs?: number; dnssec?: boolean },
  ): Promise<NameserverAnswer>;
  /** The addresses of a nameserver host name (IP literals map to themselves). */
  resolve(host: string): Promise<string[]>;
  /** The nameserver host names of a zone, from the system's resolver (to find a parent's nameservers). */
  delegation(zone: string): Promise<string[]>;
}

/** `host:port` for messages and status. */
export function formatAddress(address: NameserverAddress): string {
  return address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** Parses `ns1.desec.io`, `127.0.0.1:5301`, `[::1]:53` into an address (port 53 by default). */
export function parseAddress(text: string): NameserverAddress {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed?.[1]) return { host: bracketed[1], port: Number(bracketed[2] ?? 53) };
  const parts = text.split(":");
  if (parts.length === 2 && parts[0] && /^\d+$/.test(parts[1] ?? "")) {
    return { host: parts[0], port: Number(parts[1]) };
  }
  return { host: text.replace(/\.$/, ""), port: 53 };
}

/** The DNSKEY key tag of an RDATA (RFC 4034 appendix B; algorithm 1 is not used by anyone any more). */
export function keyTag(rdata: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < rdata.length; i++) sum += i & 1 ? (rdata[i] ?? 0) : (rdata[i] ?? 0) << 8;
  sum += (sum >> 16) & 0xffff;
  return sum & 0xffff;
}

/** A name in canonical wire form (RFC 4034 §6.2): lowercase labels, length-prefixed, root last. */
export function canonicalWireName(name: string): Uint8Array {
  const labels = name.toLowerCase().replace(/\.$/, "").split(".").filter(Boolean);
  const bytes: number[] = [];
  for (const label of labels) {
    const encoded = new TextEncoder().encode(label);
    bytes.push(encoded.length, ...encoded);
  }
  bytes.push(0);
  return Uint8Array.from(bytes);
}

const DIGESTS: Record<number, string> = { 1: "SHA-1", 2: "SHA-256", 4: "SHA-384" };

/** The DS digest of a DNSKEY (RFC 4034 §5.1.4) as lowercase hex, or null for an unknown digest type. */
export async function dsDigest(
  owner: string,
  dnskey: DnskeyValue,
  digestType: number,
): Promise<string | null> {
  const algorithm = DIGESTS[digestType];
  if (!algorithm) return null;
  const name = canonicalWireName(owner);
  const input = new Uint8Array(name.length + dnskey.rdata.length);
  input.set(name, 0);
  input.set(dnskey.rdata, name.length);
  const digest = new Uint8Array(await crypto.subtle.digest(algorithm, input));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}
