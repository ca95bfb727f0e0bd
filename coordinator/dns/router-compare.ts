/**
 * Ownership and comparison of one router on one provider (CONTRACT §4a): which records at the name are
 * the router's, which are another type healthmesh never replaces, and whether the provider serves the
 * desired value. A CNAME router owns the name alone; an address router owns the A and AAAA RRsets and
 * leaves the rest (the apex's NS, SOA, MX, TXT) alone, but a CNAME there is a conflict.
 */
import { ADDRESS_TYPE, type RouterRecord, routerType } from "./provider.ts";

/** How a provider's answer for a router compares with the desired value. */
export type Verdict =
  | { kind: "conflict"; message: string }
  | { kind: "in-sync"; served: RouterRecord }
  | { kind: "write"; served: RouterRecord | null };

/** The router's own part of what a name holds (null when it holds none of the router's type). */
export function ownPart(record: RouterRecord | null, desired: string): RouterRecord | null {
  return record && record.type === routerType(desired) ? record : null;
}

/** Judges what `provider` serves at `router` against the desired value and TTL. */
export function judge(
  provider: string,
  router: string,
  record: RouterRecord | null,
  desired: { target: string; ttl: number },
): Verdict {
  const want = routerType(desired.target);
  const clash = record && (want === "CNAME" ? record.type !== "CNAME" : record.type === "CNAME");
  if (record && clash) {
    const what = record.type === ADDRESS_TYPE ? "an A/AAAA" : `a ${record.type}`;
    const hint = want === ADDRESS_TYPE ? " (an address router needs the name free of CNAMEs)" : "";
    return {
      kind: "conflict",
      message: `Cannot switch "${router}" on ${provider}: it holds ${what} record, which healthmesh never replaces${hint}`,
    };
  }
  const own = ownPart(record, desired.target);
  if (own && own.target === desired.target && own.ttl === desired.ttl && own.proxied !== true) {
    return { kind: "in-sync", served: own };
  }
  return { kind: "write", served: own };
}

/** Whether a read-back shows the change served as written. */
export function servedAsWritten(record: RouterRecord | null, change: { target: string }): boolean {
  const own = ownPart(record, change.target);
  return own !== null && own.target === change.target && own.proxied !== true;
}

/** How a served router reads in messages. */
export function describeServed(record: RouterRecord | null): string {
  if (!record) return "nothing";
  return `"${record.target}" TTL ${record.ttl < 0 ? "mixed" : record.ttl}${record.proxied ? " proxied" : ""}`;
}
