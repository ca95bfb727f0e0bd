/**
 * What the providers' APIs say about a zone's delegation and signing: Cloudflare's `name_servers`,
 * its multi-provider setting (`GET /zones/{id}/dns_settings` → `multi_provider`) and DNSSEC
 * (`GET /zones/{id}/dnssec`); deSEC's keys and DS (`GET /domains/{name}/` → `keys[].ds`). Read once per
 * start or per `doctor` run, never in the steady state.
 */
import type { Clock } from "../../shared/clock.ts";
import type { Config } from "../../shared/config-schema.ts";
import { type ApiResponse, joinUrl, send, toDnsError } from "./http.ts";

/** deSEC's published nameservers (its docs and every deSEC zone's apex NS). */
export const DESEC_NAMESERVERS = ["ns1.desec.io", "ns2.desec.org"];

/** Cloudflare's DNSSEC object, the fields we use. */
export interface CloudflareDnssec {
  /** `active`, `pending`, `disabled`, `pending-disabled`, `error`. */
  status: string;
  /** Whether Cloudflare accepts other providers' DNSKEYs at the apex (RFC 8901 model 2). */
  multiSigner: boolean;
  /** `example.com. 3600 IN DS 2371 13 2 ABCD…`, or null while disabled. */
  ds: string | null;
}

/** Facts about the zone on one provider; each field is absent when the provider has no such notion. */
export interface ProviderZoneFacts {
  provider: string;
  /** Nameserver host names the provider assigns (Cloudflare) or publishes (deSEC). */
  nameservers?: string[];
  /** Cloudflare: `dns_settings.multi_provider`. */
  multiProvider?: boolean;
  dnssec?: CloudflareDnssec;
  /** deSEC: DS records (presentation, `tag alg digesttype digest`) for its keys. */
  ds?: string[];
  /** deSEC: DNSKEYs it signs with. */
  dnskeys?: string[];
  /** Reads that failed (e.g. a token without the permission), each as a message. */
  problems?: string[];
}

/** What the reads are made with. */
export interface FactsWorld {
  env: (name: string) => string | undefined;
  fetch: typeof fetch;
  clock?: Clock;
}

type Get = (path: string, what: string) => Promise<ApiResponse>;

/** Reads what each configured API provider says; a provider that cannot be read maps to its error. */
export async function readZoneFacts(
  config: Config,
  world: FactsWorld,
): Promise<Map<string, ProviderZoneFacts | Error>> {
  const out = new Map<string, ProviderZoneFacts | Error>();
  const { cloudflare, desec } = config.providers;
  const jobs: Promise<void>[] = [];
  if (cloudflare) {
    const get = getter(world, "cloudflare", cloudflare.apiBase, {
      authorization: `Bearer ${world.env(cloudflare.tokenEnv) ?? ""}`,
    });
    jobs.push(
      cloudflareFacts(config.zone, cloudflare.zoneId, get).then(
        (facts) => void out.set("cloudflare", facts),
        (error: unknown) => void out.set("cloudflare", asError(error)),
      ),
    );
  }
  if (desec) {
    const get = getter(world, "desec", desec.apiBase, {
      authorization: `Token ${world.env(desec.tokenEnv) ?? ""}`,
    });
    jobs.push(
      desecFacts(config.zone, get).then(
        (facts) => void out.set("desec", facts),
        (error: unknown) => void out.set("desec", asError(error)),
      ),
    );
  }
  await Promise.all(jobs);
  return out;
}

/** The nameservers Cloudflare assigns to the zone (`name_servers` of `GET /zones?name=`). */
export async function cloudflareNameservers(
  zone: string,
  settings: { apiBase: string; tokenEnv: string; zoneId?: string | undefined },
  world: FactsWorld,
): Promise<string[]> {
  const get = getter(world, "cloudflare", settings.apiBase, {
    authorization: `Bearer ${world.env(settings.tokenEnv) ?? ""}`,
  });
  return stringList((await cloudflareZone(zone, settings.zoneId, get)).name_servers);
}

async function cloudflareZone(
  zone: string,
  knownId: string | undefined,
  get: Get,
): Promise<Record<string, unknown>> {
  const found = await get(
    `zones?name=${encodeURIComponent(zone)}`,
    `Cannot find zone "${zone}" on Cloudflare`,
  );
  const zones = resultOf(found);
  const list = Array.isArray(zones) ? zones : [];
  const match = list.find((z) => isRecord(z) && (knownId ? z.id === knownId : z.name === zone));
  if (!isRecord(match) || typeof match.id !== "string") {
    throw new Error(
      `Cannot find zone "${zone}" on Cloudflare: no zone of that name is visible to this token`,
    );
  }
  return match;
}

/** Cloudflare's zone nameservers, multi-provider setting and DNSSEC state; a setting that cannot be read is left out. */
export async function cloudflareFacts(
  zone: string,
  knownId: string | undefined,
  get: Get,
): Promise<ProviderZoneFacts> {
  const match = await cloudflareZone(zone, knownId, get);
  const id = String(match.id);
  const facts: ProviderZoneFacts = {
    provider: "cloudflare",
    nameservers: stringList(match.name_servers),
    problems: [],
  };
  try {
    const settings = resultOf(
      await get(`zones/${id}/dns_settings`, `Cannot read the DNS settings of "${zone}"`),
    );
    facts.multiProvider = isRecord(settings) && settings.multi_provider === true;
  } catch (error) {
    facts.problems?.push(asError(error).message);
  }
  try {
    const dnssec = resultOf(await get(`zones/${id}/dnssec`, `Cannot read the DNSSEC state of "${zone}"`));
    facts.dnssec = {
      status: isRecord(dnssec) && typeof dnssec.status === "string" ? dnssec.status : "unknown",
      multiSigner: isRecord(dnssec) && dnssec.dnssec_multi_signer === true,
      ds: isRecord(dnssec) && typeof dnssec.ds === "string" && dnssec.ds ? dnssec.ds : null,
    };
  } catch (error) {
    facts.problems?.push(asError(error).message);
  }
  return facts;
}

/** deSEC's keys (DNSKEY and DS) for the domain; its nameservers are the published ones. */
export async function desecFacts(domain: string, get: Get): Promise<ProviderZoneFacts> {
  const response = await get(`domains/${domain}/`, `Cannot read domain "${domain}" on deSEC`);
  const body = response.body;
  const keys = isRecord(body) && Array.isArray(body.keys) ? body.keys.filter(isRecord) : [];
  return {
    provider: "desec",
    nameservers: [...DESEC_NAMESERVERS],
    ds: keys.flatMap((k) => stringList(k.ds)),
    dnskeys: keys.flatMap((k) => (typeof k.dnskey === "string" ? [k.dnskey] : [])),
  };
}

function getter(world: FactsWorld, provider: string, apiBase: string, headers: Record<string, string>): Get {
  return async (path, what) => {
    const response = await send(
      provider,
      { fetch: world.fetch, ...(world.clock ? { clock: world.clock } : {}) },
      {
        url: joinUrl(apiBase, path),
        method: "GET",
        headers,
      },
    );
    if (response.status < 300) return response;
    const detail = isRecord(response.body)
      ? JSON.stringify(response.body).slice(0, 300)
      : String(response.body);
    throw toDnsError(provider, what, { status: response.status, message: detail });
  };
}

function resultOf(response: ApiResponse): unknown {
  return isRecord(response.body) ? response.body.result : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
