/**
 * The Cloudflare stand-in's zone-level DNS settings, from Cloudflare's API reference: `GET/PATCH
 * /zones/{id}/dns_settings` (`multi_provider`: keep the zone active with other providers' NS at the
 * apex) and `GET/PATCH /zones/{id}/dnssec` (status, `dnssec_multi_signer`, the KSK's DS). Turning
 * DNSSEC on answers `pending`, as Cloudflare does until it sees the DS at the registrar.
 */
import type { Context } from "hono";
import { CfFault } from "./cloudflare-records.ts";
import { dsOf, makeKey, type StandinKey } from "./dnssec-keys.ts";

/** A zone's settings in the stand-in (tests set them directly too). */
export interface CfZoneSettings {
  name: string;
  nameServers: string[];
  multiProvider: boolean;
  dnssec: { status: string; multiSigner: boolean; key: StandinKey | null; modifiedOn: string };
}

type Route = (
  method: "get" | "patch",
  path: string,
  handler: (c: Context) => Response | Promise<Response>,
) => void;

const ok = (c: Context, result: unknown) => c.json({ success: true, errors: [], messages: [], result });

/** Registers the two settings endpoints on the stand-in's router. */
export function zoneSettingRoutes(
  route: Route,
  zoneOf: (c: Context) => CfZoneSettings,
  now: () => string,
): void {
  route("get", "/zones/:zone/dns_settings", (c) => ok(c, settingsJson(zoneOf(c))));
  route("patch", "/zones/:zone/dns_settings", async (c) => {
    const zone = zoneOf(c);
    const body = (await c.req.json()) as Record<string, unknown>; // a JSON object; fields are checked one by one
    if (body.multi_provider !== undefined) {
      if (typeof body.multi_provider !== "boolean") throw invalid("multi_provider must be a boolean");
      zone.multiProvider = body.multi_provider;
    }
    return ok(c, settingsJson(zone));
  });
  route("get", "/zones/:zone/dnssec", async (c) => ok(c, await dnssecJson(zoneOf(c))));
  route("patch", "/zones/:zone/dnssec", async (c) => {
    const zone = zoneOf(c);
    const body = (await c.req.json()) as Record<string, unknown>; // a JSON object; fields are checked one by one
    if (body.status === "active" && zone.dnssec.status === "disabled") {
      zone.dnssec.key = zone.dnssec.key ?? makeKey();
      zone.dnssec.status = "pending";
    } else if (body.status === "disabled") {
      zone.dnssec.status = "disabled";
      zone.dnssec.key = null;
    } else if (body.status !== undefined && body.status !== "active") {
      throw invalid('status must be "active" or "disabled"');
    }
    if (typeof body.dnssec_multi_signer === "boolean") zone.dnssec.multiSigner = body.dnssec_multi_signer;
    zone.dnssec.modifiedOn = now();
    return ok(c, await dnssecJson(zone));
  });
}

function settingsJson(zone: CfZoneSettings) {
  return {
    flatten_all_cnames: false,
    foundation_dns: false,
    multi_provider: zone.multiProvider,
    ns_ttl: 86_400,
    secondary_overrides: false,
    zone_mode: "standard",
    nameservers: { type: "cloudflare.standard" },
  };
}

async function dnssecJson(zone: CfZoneSettings) {
  const key = zone.dnssec.key;
  const common = {
    dnssec_multi_signer: zone.dnssec.multiSigner,
    dnssec_presigned: false,
    dnssec_use_nsec3: false,
    modified_on: zone.dnssec.modifiedOn,
    status: zone.dnssec.status,
  };
  if (!key || zone.dnssec.status === "disabled") {
    return {
      ...common,
      algorithm: null,
      digest: null,
      digest_algorithm: null,
      digest_type: null,
      ds: null,
      flags: null,
      key_tag: null,
      key_type: null,
      public_key: null,
    };
  }
  const [ds = ""] = await dsOf(zone.name, key, [2]);
  const digest = (ds.split(" ")[3] ?? "").toUpperCase();
  return {
    ...common,
    algorithm: String(key.dnskey.algorithm),
    digest,
    digest_algorithm: "SHA256",
    digest_type: "2",
    ds: `${zone.name}. 3600 IN DS ${key.dnskey.keyTag} ${key.dnskey.algorithm} 2 ${digest}`,
    flags: key.dnskey.flags,
    key_tag: key.dnskey.keyTag,
    key_type: "ECDSAP256SHA256",
    public_key: key.dnskey.key,
  };
}

function invalid(message: string): CfFault {
  return new CfFault(400, [
    { code: 1004, message: "DNS Validation Error", error_chain: [{ code: 1004, message }] },
  ]);
}
