/**
 * What a router serves, in one type and one string form. A path gives either a CNAME `target` or an
 * address set (`addresses`: A and/or AAAA). Everywhere a router value is stored, compared or shown
 * (config `target`, the store's desired routers and provider rows, `/v1/status`, events) it travels as
 * the string of `formatRouterValue`: a CNAME target keeps its trailing dot ("cdn.example.net."); an
 * address set is its canonical addresses, IPv4 first, each group sorted, joined by ", "
 * ("192.0.2.10, 2001:db8::10"). No host name is an IP address without a dot at its end, so the two
 * never mix.
 */

/** A router's desired or served value. */
export type RouterValue =
  | { kind: "cname"; target: string }
  | { kind: "addresses"; ipv4: string[]; ipv6: string[] };

/** An IPv6 address in RFC 5952 form (lowercase, longest zero run compressed), as resolvers and APIs show it. */
export function canonicalIpv6(address: string): string {
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return address.toLowerCase();
  }
}

const isIpv6 = (a: string) => a.includes(":");

/** The address set of `addresses`, canonical and sorted. */
export function addressValue(addresses: readonly string[]): RouterValue {
  const ipv4 = [...new Set(addresses.filter((a) => !isIpv6(a)).map((a) => a.trim()))].sort();
  const ipv6 = [...new Set(addresses.filter(isIpv6).map(canonicalIpv6))].sort();
  return { kind: "addresses", ipv4, ipv6 };
}

/** The one string form of a router value. */
export function formatRouterValue(value: RouterValue): string {
  if (value.kind === "cname") return value.target.endsWith(".") ? value.target : `${value.target}.`;
  return [...value.ipv4, ...value.ipv6].join(", ");
}

/** Parses the string form back; a string that ends with a dot is a CNAME target, anything else an address set. */
export function parseRouterValue(text: string): RouterValue {
  const t = text.trim();
  if (t.endsWith(".")) return { kind: "cname", target: t.toLowerCase() };
  return addressValue(t.split(/[\s,]+/).filter((a) => a.length > 0));
}

/** Whether a router value (string form) is an address set. */
export function isAddressValue(text: string): boolean {
  return parseRouterValue(text).kind === "addresses";
}
