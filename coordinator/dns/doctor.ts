/**
 * The two-provider preflight (`healthmesh doctor`, and `validate --online`): asks each provider's own
 * nameservers for the apex NS, SOA and DNSKEY sets, the parent's nameservers for the delegation and DS,
 * and the APIs for Cloudflare's multi-provider setting and each provider's keys; then says what is
 * consistent and gives the exact fix for what is not.
 */
import type { Clock } from "../../shared/clock.ts";
import type { Config } from "../../shared/config-schema.ts";
import { type DnssecVerdict, dnssecVerdict, type SignerView } from "./dnssec.ts";
import {
  type AnswerRecord,
  type DnskeyValue,
  type DsValue,
  formatAddress,
  type NameserverAddress,
  type NameserverClient,
  parseAddress,
  type QueryType,
} from "./nameserver.ts";
import { type FactsWorld, type ProviderZoneFacts, readZoneFacts } from "./nameserver-facts.ts";
import { nameserverSources } from "./nameserver-sources.ts";

/** One line of the doctor's report. */
export interface DoctorFinding {
  check: "nameservers" | "delegation" | "multi-provider" | "soa" | "dnssec";
  level: "ok" | "info" | "warning" | "error";
  provider?: string;
  message: string;
  fix?: string;
}

/** What the doctor asks with. */
export interface DoctorWorld extends FactsWorld {
  client: NameserverClient;
  clock: Clock;
  timeoutMs?: number;
}

interface ProviderApex {
  provider: string;
  servers: NameserverAddress[];
  ns: string[] | null;
  serials: { server: string; serial: number | null }[];
  dnskeys: DnskeyValue[] | null;
  error?: string;
}

/** Runs every check; never throws (a failed lookup is a finding). */
export async function runDoctor(config: Config, world: DoctorWorld): Promise<DoctorFinding[]> {
  const zone = config.zone;
  const [facts, apexes, parent] = await Promise.all([
    readZoneFacts(config, world),
    Promise.all(nameserverSources(config, world).map((p) => askApex(zone, p, world))),
    askParent(config, world),
  ]);
  const out: DoctorFinding[] = [];
  // Unreachable nameservers leave a check undone rather than prove the zone wrong: a warning.
  for (const a of apexes)
    if (a.error) out.push({ check: "nameservers", level: "warning", provider: a.provider, message: a.error });
  for (const [provider, f] of facts) {
    if (f instanceof Error)
      out.push({ check: "nameservers", level: "warning", provider, message: f.message });
    else
      for (const p of f.problems ?? [])
        out.push({ check: "nameservers", level: "warning", provider, message: p });
  }
  out.push(...nsFindings(zone, apexes, facts, parent.ns));
  out.push(...multiProviderFindings(apexes, facts));
  out.push(...soaFindings(apexes));
  if (parent.ds === null) {
    out.push({
      check: "dnssec",
      level: "warning",
      message: `Cannot judge DNSSEC: ${parent.error ?? "the parent's DS could not be read"}`,
    });
    return out;
  }
  const signers: SignerView[] = apexes.map((a) => ({ provider: a.provider, dnskeys: a.dnskeys }));
  out.push(...verdictFindings(await dnssecVerdict(zone, parent.ds, signers)));
  return out;
}

async function ask(
  world: DoctorWorld,
  server: NameserverAddress,
  name: string,
  type: QueryType,
): Promise<{ answers: AnswerRecord[]; authorities: AnswerRecord[] }> {
  const answer = await world.client.query(
    server,
    { name, type },
    { timeoutMs: world.timeoutMs ?? 2000, dnssec: true },
  );
  if (answer.rcode !== "NOERROR")
    throw new Error(`${formatAddress(server)} answered ${answer.rcode} for ${name} ${type}`);
  return answer;
}

async function askApex(
  zone: string,
  source: { name: string; servers: () => Promise<NameserverAddress[]> },
  world: DoctorWorld,
): Promise<ProviderApex> {
  const apex: ProviderApex = { provider: source.name, servers: [], ns: null, serials: [], dnskeys: null };
  try {
    apex.servers = await source.servers();
  } catch (error) {
    apex.error = `Cannot find the nameservers of ${source.name}: ${message(error)}`;
    return apex;
  }
  apex.serials = await Promise.all(
    apex.servers.map(async (server) => {
      const soa = await ask(world, server, zone, "SOA").catch(() => null);
      const record = soa?.answers.find((a) => a.type === "SOA");
      return { server: formatAddress(server), serial: record?.type === "SOA" ? record.serial : null };
    }),
  );
  for (const server of apex.servers) {
    try {
      const ns = await ask(world, server, zone, "NS");
      const keys = await ask(world, server, zone, "DNSKEY");
      apex.ns = ns.answers
        .filter((a) => a.type === "NS")
        .map((a) => a.value)
        .sort();
      apex.dnskeys = keys.answers.flatMap((a) => (a.type === "DNSKEY" ? [a.dnskey] : []));
      return apex;
    } catch (error) {
      apex.error = `No nameserver of ${source.name} answered for the apex of ${zone}: ${message(error)}`;
    }
  }
  return apex;
}

async function askParent(
  config: Config,
  world: DoctorWorld,
): Promise<{ ds: DsValue[] | null; ns: string[] | null; error?: string }> {
  const zone = config.zone;
  const parentZone = zone.split(".").slice(1).join(".") || ".";
  try {
    const names = config.nameserverChecks.parent ?? (await world.client.delegation(parentZone));
    for (const text of names) {
      const address = parseAddress(text);
      for (const host of await world.client.resolve(address.host)) {
        const server = { host, port: address.port };
        try {
          const ds = await ask(world, server, zone, "DS");
          const ns = await ask(world, server, zone, "NS");
          const referral = [...ns.answers, ...ns.authorities].filter(
            (a) => a.type === "NS" && a.name === `${zone}.`,
          );
          return {
            ds: ds.answers.flatMap((a) => (a.type === "DS" ? [a.ds] : [])),
            ns: referral.map((a) => a.value).sort(),
          };
        } catch {
          // try the parent's next nameserver
        }
      }
    }
    return {
      ds: null,
      ns: null,
      error: `No nameserver of the parent zone "${parentZone}" answered the DS question for ${zone}`,
    };
  } catch (error) {
    return {
      ds: null,
      ns: null,
      error: `Cannot find the nameservers of the parent zone "${parentZone}": ${message(error)}; set nameserverChecks.parent`,
    };
  }
}

function nsFindings(
  zone: string,
  apexes: readonly ProviderApex[],
  facts: ReadonlyMap<string, ProviderZoneFacts | Error>,
  delegation: string[] | null,
): DoctorFinding[] {
  const own = (a: ProviderApex) => {
    const f = facts.get(a.provider);
    const names = f && !(f instanceof Error) ? (f.nameservers ?? []) : [];
    return names.length > 0 ? names.map((n) => `${n.toLowerCase().replace(/\.$/, "")}.`) : (a.ns ?? []);
  };
  const wanted = [...new Set(apexes.flatMap(own))].sort();
  const out: DoctorFinding[] = [];
  for (const a of apexes) {
    if (a.ns === null) continue;
    const missing = wanted.filter((n) => !a.ns?.includes(n));
    out.push(
      missing.length === 0
        ? {
            check: "nameservers",
            level: "ok",
            provider: a.provider,
            message: `${a.provider} serves every provider's nameservers at the apex: ${a.ns.join(", ")}`,
          }
        : {
            check: "nameservers",
            level: apexes.length > 1 ? "error" : "warning",
            provider: a.provider,
            message: `${a.provider}'s nameservers serve the apex NS set ${a.ns.join(", ") || "(none)"}, which lacks ${missing.join(", ")}: resolvers that ask ${a.provider} learn only part of the delegation`,
            fix: `Add NS records ${missing.join(", ")} at the apex of ${zone} on ${a.provider}`,
          },
    );
  }
  if (delegation !== null && apexes.length > 0) {
    const absent = wanted.filter((n) => !delegation.includes(n));
    out.push(
      absent.length === 0
        ? {
            check: "delegation",
            level: "ok",
            message: `The parent delegates ${zone} to ${delegation.join(", ")}`,
          }
        : {
            check: "delegation",
            level: "error",
            message: `The parent delegates ${zone} to ${delegation.join(", ") || "(nobody)"}, without ${absent.join(", ")}: those nameservers get no traffic and the failover on their provider changes nothing for users`,
            fix: `At the registrar, set the nameservers of ${zone} to ${wanted.join(", ")}`,
          },
    );
  }
  return out;
}

function multiProviderFindings(
  apexes: readonly ProviderApex[],
  facts: ReadonlyMap<string, ProviderZoneFacts | Error>,
): DoctorFinding[] {
  const cf = facts.get("cloudflare");
  if (!cf || cf instanceof Error || cf.multiProvider === undefined || apexes.length < 2) return [];
  if (cf.multiProvider) {
    return [
      {
        check: "multi-provider",
        level: "ok",
        provider: "cloudflare",
        message: "Cloudflare's multi-provider DNS is on for the zone",
      },
    ];
  }
  return [
    {
      check: "multi-provider",
      level: "error",
      provider: "cloudflare",
      message:
        "Cloudflare's multi-provider DNS is off: Cloudflare ignores the other providers' NS records at the apex and may not keep the zone active while they are delegated",
      fix: 'Turn it on: PATCH /zones/{zone_id}/dns_settings {"multi_provider": true} (dashboard: DNS > Settings > Multi-provider DNS)',
    },
  ];
}

function soaFindings(apexes: readonly ProviderApex[]): DoctorFinding[] {
  return apexes.flatMap((a): DoctorFinding[] => {
    const known = a.serials.filter((s) => s.serial !== null);
    if (known.length === 0) return [];
    const distinct = new Set(known.map((s) => s.serial));
    const text = a.serials.map((s) => `${s.server} ${s.serial ?? "no answer"}`).join(", ");
    return [
      distinct.size === 1
        ? {
            check: "soa",
            level: "info",
            provider: a.provider,
            message: `${a.provider} SOA serial ${known[0]?.serial} on every nameserver (serials of different providers are independent)`,
          }
        : {
            check: "soa",
            level: "warning",
            provider: a.provider,
            message: `${a.provider}'s nameservers serve different SOA serials (${text}): some of them have not caught up with the newest zone yet`,
          },
    ];
  });
}

function verdictFindings(verdict: DnssecVerdict): DoctorFinding[] {
  if (verdict.verdict === "broken") {
    return [
      { check: "dnssec", level: "error", message: verdict.message },
      ...verdict.problems.map((p) => ({
        check: "dnssec" as const,
        level: "error" as const,
        provider: p.provider,
        message: p.message,
        fix: p.fix,
      })),
    ];
  }
  if (verdict.verdict === "unknown") return [{ check: "dnssec", level: "warning", message: verdict.message }];
  return [{ check: "dnssec", level: "ok", message: `Consistent (${verdict.mode}): ${verdict.message}` }];
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
