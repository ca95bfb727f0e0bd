/**
 * The DNSSEC verdict for one zone served by several providers. A validating resolver picks any of the
 * zone's nameservers; the DS at the parent must match a key of every provider it may reach, and each
 * provider must publish the others' keys (RFC 8901 multi-signer), or else about 1 in N lookups fail.
 * Signatures are not checked here: keys and DS are, which is where two-provider setups break.
 */
import { type DnskeyValue, type DsValue, dsDigest } from "./nameserver.ts";

/** What one provider's nameservers serve at the apex. */
export interface SignerView {
  provider: string;
  /** The DNSKEY RRset its nameservers serve; null when none could be asked. */
  dnskeys: DnskeyValue[] | null;
}

/** One thing that makes validating resolvers fail, and the exact change that fixes it. */
export interface DnssecProblem {
  provider: string;
  message: string;
  fix: string;
}

/** Consistent (with how), broken (with every problem and its fix), or unknown (a provider could not be asked). */
export type DnssecVerdict =
  | { verdict: "consistent"; mode: "unsigned" | "single-signer" | "multi-signer"; message: string }
  | { verdict: "broken"; message: string; problems: DnssecProblem[] }
  | { verdict: "unknown"; message: string };

const keyId = (k: DnskeyValue) => `${k.algorithm}/${k.key}`;
const tags = (keys: readonly { keyTag: number }[]) => keys.map((k) => k.keyTag).join(", ") || "none";

/** Judges the DS at the parent against the DNSKEYs each provider serves. */
export async function dnssecVerdict(
  zone: string,
  ds: readonly DsValue[],
  signers: readonly SignerView[],
): Promise<DnssecVerdict> {
  const signing = signers.filter((s) => (s.dnskeys ?? []).length > 0);
  if (ds.length === 0) {
    const note =
      signing.length > 0
        ? ` (${signing.map((s) => s.provider).join(" and ")} sign${signing.length === 1 ? "s" : ""}, but without a DS resolvers do not validate, so that cannot break lookups)`
        : "";
    return {
      verdict: "consistent",
      mode: "unsigned",
      message: `No DS for ${zone} at the parent: resolvers treat the zone as unsigned${note}`,
    };
  }
  const unasked = signers.filter((s) => s.dnskeys === null);
  const problems: DnssecProblem[] = [];
  for (const signer of signers) {
    if (signer.dnskeys === null) continue;
    problems.push(...(await signerProblems(zone, ds, signer, signers.length)));
  }
  problems.push(...crossPublication(signers));
  if (problems.length > 0) {
    return {
      verdict: "broken",
      message: `DNSSEC of ${zone} is broken across providers: validating resolvers fail on ${[...new Set(problems.map((p) => p.provider))].join(" and ")}'s answers (SERVFAIL for the share of lookups that reach them)`,
      problems,
    };
  }
  if (unasked.length > 0) {
    return {
      verdict: "unknown",
      message: `Cannot judge DNSSEC of ${zone}: no nameserver of ${unasked.map((s) => s.provider).join(", ")} answered the DNSKEY question`,
    };
  }
  return {
    verdict: "consistent",
    mode: signers.length > 1 ? "multi-signer" : "single-signer",
    message:
      signers.length > 1
        ? `DS at the parent (tags ${tags(ds)}) matches a key of every provider, and each provider publishes every provider's keys (RFC 8901 multi-signer)`
        : `DS at the parent (tags ${tags(ds)}) matches the key ${signers[0]?.provider ?? "the provider"} serves`,
  };
}

async function signerProblems(
  zone: string,
  ds: readonly DsValue[],
  signer: SignerView,
  providers: number,
): Promise<DnssecProblem[]> {
  const keys = signer.dnskeys ?? [];
  const share = providers > 1 ? ` (about 1 in ${providers} lookups)` : "";
  if (keys.length === 0) {
    return [
      {
        provider: signer.provider,
        message: `${signer.provider} serves no DNSKEY, but the parent has DS (tags ${tags(ds)}): validating resolvers reject every answer from ${signer.provider}${share}`,
        fix: `Turn on DNSSEC at ${signer.provider} as one more signer (RFC 8901: publish each other's keys) and add its DS at the registrar; or take ${signer.provider}'s nameservers out of the delegation; or remove every DS at the registrar to run the zone unsigned`,
      },
    ];
  }
  if (await anyMatch(zone, ds, keys)) return [];
  const entry = keys.filter((k) => (k.flags & 1) === 1);
  const lines = await Promise.all(
    (entry.length > 0 ? entry : keys).map(
      async (k) => `${k.keyTag} ${k.algorithm} 2 ${await dsDigest(zone, k, 2)}`,
    ),
  );
  return [
    {
      provider: signer.provider,
      message: `The DS at the parent (tags ${tags(ds)}) matches none of the DNSKEYs ${signer.provider} serves (tags ${tags(keys)}): validating resolvers reject every answer from ${signer.provider}${share}`,
      fix: `Add ${signer.provider}'s DS at the registrar, beside the DS already there: ${lines.map((l) => `${zone}. IN DS ${l}`).join("; ")}`,
    },
  ];
}

async function anyMatch(
  zone: string,
  ds: readonly DsValue[],
  keys: readonly DnskeyValue[],
): Promise<boolean> {
  for (const d of ds) {
    for (const k of keys) {
      if (k.keyTag !== d.keyTag || k.algorithm !== d.algorithm) continue;
      if ((await dsDigest(zone, k, d.digestType)) === d.digest.toLowerCase()) return true;
    }
  }
  return false;
}

function crossPublication(signers: readonly SignerView[]): DnssecProblem[] {
  const signing = signers.filter((s) => (s.dnskeys ?? []).length > 0);
  if (signing.length < 2) return [];
  const all = new Map<string, { key: DnskeyValue; from: Set<string> }>();
  for (const s of signing)
    for (const k of s.dnskeys ?? []) {
      const entry = all.get(keyId(k)) ?? { key: k, from: new Set<string>() };
      entry.from.add(s.provider);
      all.set(keyId(k), entry);
    }
  return signing.flatMap((s) => {
    const own = new Set((s.dnskeys ?? []).map(keyId));
    const missing = [...all.values()].filter((e) => !own.has(keyId(e.key)));
    if (missing.length === 0) return [];
    const owners = [...new Set(missing.flatMap((m) => [...m.from]))].join(" and ");
    return [
      {
        provider: s.provider,
        message: `${s.provider} does not publish the DNSKEYs of ${owners} (tags ${tags(missing.map((m) => m.key))}): a resolver that took the DNSKEY set from ${s.provider} cannot validate answers signed by ${owners}`,
        fix: `Publish at the apex of ${s.provider} the DNSKEY records ${missing.map((m) => `"${m.key.flags} 3 ${m.key.algorithm} ${m.key.key}"`).join(", ")}${howToPublish(s.provider)}`,
      },
    ];
  });
}

function howToPublish(provider: string): string {
  if (provider === "cloudflare")
    return ' (Cloudflare: first turn on multi-signer DNSSEC, PATCH /zones/{zone_id}/dnssec {"dnssec_multi_signer": true}, then add them as DNSKEY records)';
  if (provider === "desec")
    return ' (deSEC: one RRset of type DNSKEY at subname "", beside the keys deSEC manages)';
  return "";
}
