/**
 * Signing keys for the stand-ins: a made-up ECDSA P-256 public key (algorithm 13, flags 257, a CSK as
 * deSEC and Cloudflare use) and its DS. Nothing is signed; healthmesh compares keys and DS, not signatures.
 */
import { type DnskeyValue, dsDigest, keyTag } from "../coordinator/dns/nameserver.ts";

/** One stand-in key, in the forms the APIs and the nameservers give it. */
export interface StandinKey {
  dnskey: DnskeyValue;
  /** `257 3 13 base64`, as deSEC's `keys[].dnskey` and a DNSKEY record's content. */
  text: string;
}

/** A fresh random key (64 bytes: an uncompressed P-256 point without its prefix, as DNSKEY carries it). */
export function makeKey(flags = 257, algorithm = 13): StandinKey {
  const key = crypto.getRandomValues(new Uint8Array(64));
  const rdata = Uint8Array.from([flags >> 8, flags & 0xff, 3, algorithm, ...key]);
  const b64 = Buffer.from(key).toString("base64");
  return {
    dnskey: { flags, algorithm, keyTag: keyTag(rdata), key: b64, rdata },
    text: `${flags} 3 ${algorithm} ${b64}`,
  };
}

/** A key parsed from `flags 3 algorithm base64`. */
export function parseKey(text: string): StandinKey {
  const [flags = "257", , algorithm = "13", ...rest] = text.trim().split(/\s+/);
  const key = Buffer.from(rest.join(""), "base64");
  const rdata = Uint8Array.from([Number(flags) >> 8, Number(flags) & 0xff, 3, Number(algorithm), ...key]);
  return {
    dnskey: {
      flags: Number(flags),
      algorithm: Number(algorithm),
      keyTag: keyTag(rdata),
      key: key.toString("base64"),
      rdata,
    },
    text: text.trim(),
  };
}

/** DS presentation values (`tag alg digesttype hex`) for the given digest types. */
export async function dsOf(
  zone: string,
  key: StandinKey,
  digestTypes: readonly number[] = [2, 4],
): Promise<string[]> {
  const out: string[] = [];
  for (const type of digestTypes) {
    const digest = await dsDigest(zone, key.dnskey, type);
    if (digest) out.push(`${key.dnskey.keyTag} ${key.dnskey.algorithm} ${type} ${digest}`);
  }
  return out;
}
