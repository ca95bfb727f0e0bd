/** What the nameserver watch records: each nameserver's answer, and per provider and router what is served. */
import type { AnswerRecord } from "./nameserver.ts";

/** One nameserver's answer for one router. */
export interface ServerAnswer {
  server: string;
  /** The router's values as served (CNAME target with its dot, or addresses); absent on error. */
  values?: string[];
  /** The TTL the nameserver gives the router's answer. */
  ttl?: number;
  rcode?: string;
  error?: string;
}

/** What one provider's nameservers serve for one router. */
export interface ServingState {
  provider: string;
  router: string;
  /** What the answering nameservers serve when they agree; null when none answered or they disagree. */
  values: string[] | null;
  /** Every answering nameserver serves the decided target. */
  matches: boolean;
  /** An answering nameserver serves something else though the API accepted the write `lagAfter` ago. */
  lagging: boolean;
  checkedAt: number;
  servers: ServerAnswer[];
}

/** Per provider: its nameservers and how many questions to them failed. */
export interface ProviderNameservers {
  servers: string[];
  queryErrors: number;
  queries: number;
  error?: string;
}

/** The values a nameserver serves for a router: its CNAME target, or its addresses. */
export function routerValues(answers: readonly AnswerRecord[], router: string): string[] {
  const owner = `${router.toLowerCase().replace(/\.$/, "")}.`;
  const own = answers.filter((a) => a.name === owner);
  const cname = own.filter((a) => a.type === "CNAME").map((a) => a.value);
  if (cname.length > 0) return cname;
  return own
    .filter((a) => a.type === "A" || a.type === "AAAA")
    .map((a) => a.value)
    .sort();
}

/** Whether two value lists hold the same values, case and order aside. */
export function sameValues(a: readonly string[], b: readonly string[]): boolean {
  const norm = (v: readonly string[]) => v.map(canonicalValue).sort().join(" ");
  return norm(a) === norm(b);
}

/** Whether a desired router value is an address set ("192.0.2.1, 2001:db8::1") rather than a CNAME target (ends with a dot). */
export function isAddressTarget(target: string): boolean {
  return !target.trim().endsWith(".");
}

/** The values a router's nameservers should serve for a desired value: the CNAME target, or each address. */
export function expectedValues(target: string): string[] {
  return isAddressTarget(target) ? target.split(/[\s,]+/).filter((a) => a.length > 0) : [target];
}

/** A value as compared: lowercase, IPv6 in RFC 5952 form (the URL parser's), so "2001:DB8:0::1" equals "2001:db8::1". */
function canonicalValue(value: string): string {
  const v = value.trim().toLowerCase();
  if (!v.includes(":")) return v;
  try {
    return new URL(`http://[${v}]/`).hostname.slice(1, -1);
  } catch {
    return v;
  }
}

/** Values quoted for a message, or "nothing". */
export function describeValues(values: readonly string[]): string {
  return values.length === 0 ? "nothing" : values.map((v) => `"${v}"`).join(", ");
}
