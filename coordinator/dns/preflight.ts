/**
 * Online preflight (`healthmesh validate --online` and the coordinator's start): checks each provider's
 * token and zone, reads deSEC's `minimum_ttl` (checked against router and declared record TTLs), and says
 * what the router TTLs mean for failover time.
 */
import type { Clock } from "../../shared/clock.ts";
import type { Config } from "../../shared/config-schema.ts";
import type { Logger } from "../../shared/log.ts";
import { CloudflareDnsProvider } from "./cloudflare.ts";
import { DesecDnsProvider } from "./desec.ts";
import type { DnsProvider, ZoneProvider } from "./provider.ts";
import { judge } from "./router-compare.ts";

/** One finding: `error` fails the preflight, `ttl` marks a router TTL below a provider's minimum (exit 2). */
export interface PreflightFinding {
  provider: string;
  level: "ok" | "info" | "warning" | "error";
  message: string;
  ttl?: true;
}

const routerFqdn = (config: Config, router: string) =>
  router === "@" ? config.zone : `${router}.${config.zone}`;

/** Router TTLs on deSEC below the domain's minimum, as messages naming the TTL, the minimum and the fix. */
export function desecTtlProblems(config: Config, minimumTtl: number): string[] {
  return config.services.flatMap((svc, i) => {
    const ttl = svc.desec?.ttl ?? svc.ttl;
    if (ttl >= minimumTtl) return [];
    const from = svc.desec?.ttl !== undefined ? `services[${i}].desec.ttl` : `services[${i}].ttl`;
    return [
      `Cannot switch "${svc.router}" on deSEC: TTL ${ttl} (${from}) is below the domain minimum ${minimumTtl}; deSEC refuses such writes, so this router would never switch there. Fix: set services[${i}].desec.ttl to ${minimumTtl} or more (resolvers may then keep the old target for up to ${minutes(minimumTtl)} after a failover), or ask deSEC support to lower the domain's minimum_ttl`,
    ];
  });
}

/** Declared records (zone sync) whose deSEC TTL is below the domain's minimum, as messages naming the YAML path, the TTL, the minimum and the fix. */
export function desecRecordTtlProblems(config: Config, minimumTtl: number): string[] {
  const routers = new Set(config.services.map((s) => routerFqdn(config, s.router)));
  return config.records.flatMap((record, i) => {
    if (routers.has(routerFqdn(config, record.name))) return []; // zone sync leaves routers to failover
    const ttl = record.desec?.ttl ?? record.ttl;
    if (ttl >= minimumTtl) return [];
    const from = record.desec?.ttl !== undefined ? `records[${i}].desec.ttl` : `records[${i}].ttl`;
    const type = record.desec?.type ?? record.type;
    return [
      `Cannot write record "${record.name}" ${type} to deSEC: TTL ${ttl} (${from}) is below the domain minimum ${minimumTtl}; deSEC refuses it, so apply would leave the providers different. Fix: set records[${i}].desec.ttl to ${minimumTtl} or more`,
    ];
  });
}

/** Before `plan`/`apply`: the declared records deSEC would refuse, or none when deSEC is absent or unreadable (the plan then reports why). */
export async function zoneTtlProblems(config: Config, providers: readonly ZoneProvider[]): Promise<string[]> {
  const desec = providers.find((p): p is DesecDnsProvider => p instanceof DesecDnsProvider);
  if (!desec) return [];
  try {
    return desecRecordTtlProblems(config, (await desec.domain()).minimum_ttl);
  } catch {
    return [];
  }
}

/** What a router TTL means for failover time, in plain words. */
export function ttlMeaning(provider: string, ttl: number): string {
  return `router TTL ${ttl} s on ${provider}: after a switch, resolvers that cached the old answer keep sending users to the old target for up to ${minutes(ttl)}; that is the floor of the failover time for users behind them`;
}

/** Checks tokens, zones, router conflicts and TTL limits on every provider; never throws. */
export async function preflight(
  config: Config,
  providers: readonly DnsProvider[],
): Promise<PreflightFinding[]> {
  const routers = config.services.map((s) => routerFqdn(config, s.router));
  const perProvider = await Promise.all(
    providers.map(async (provider): Promise<PreflightFinding[]> => {
      const name = provider.name;
      const out: PreflightFinding[] = [];
      let minimum = 0;
      try {
        if (provider instanceof CloudflareDnsProvider) {
          // Judged by what it can do on the zone: /user/tokens/verify answers 401 for working account-owned tokens.
          out.push({
            provider: name,
            level: "ok",
            message: `token can see zone "${config.zone}" (id ${await provider.zoneId()})`,
          });
        }
        if (provider instanceof DesecDnsProvider) {
          const domain = await provider.domain();
          minimum = domain.minimum_ttl;
          out.push({
            provider: name,
            level: "ok",
            message: `token accepted; domain "${domain.name}" found, minimum_ttl ${domain.minimum_ttl}`,
          });
          const problems = [
            ...desecTtlProblems(config, domain.minimum_ttl),
            ...desecRecordTtlProblems(config, domain.minimum_ttl),
          ];
          for (const message of problems) out.push({ provider: name, level: "error", message, ttl: true });
        }
        const seen = await provider.readRouters(routers);
        config.services.forEach((svc, i) => {
          const router = routers[i] ?? "";
          const verdict = judge(name, router, seen.get(router) ?? null, {
            target: svc.primary.target,
            ttl: 0,
          });
          if (verdict.kind !== "conflict") return;
          out.push({
            provider: name,
            level: "error",
            message: `${verdict.message}: remove that record or choose another router name`,
          });
        });
        out.push({
          provider: name,
          level: "ok",
          message: `token can read the zone's records: ${seen.size} router name(s) readable (write permission shows on the first switch)`,
        });
        const key = name as "cloudflare" | "desec" | "powerdns"; // other names have no override and read undefined
        for (const ttl of new Set(config.services.map((s) => s[key]?.ttl ?? s.ttl))) {
          if (ttl < minimum) continue;
          out.push({ provider: name, level: ttl > 300 ? "warning" : "info", message: ttlMeaning(name, ttl) });
        }
      } catch (error) {
        out.push({
          provider: name,
          level: "error",
          message: error instanceof Error ? error.message : String(error),
        });
      }
      return out;
    }),
  );
  return perProvider.flat();
}

/** At the coordinator's start: the deSEC TTL problems, or none when deSEC is absent or cannot be read within the budget. */
export async function routerTtlProblems(
  config: Config,
  providers: readonly DnsProvider[],
  world: { clock: Clock; log: Logger; budgetMs?: number },
): Promise<string[]> {
  const desec = providers.find((p): p is DesecDnsProvider => p instanceof DesecDnsProvider);
  if (!desec) return [];
  let cancel = () => {};
  const budget = new Promise<{ late: true }>((resolve) => {
    cancel = world.clock.setTimer(() => resolve({ late: true }), world.budgetMs ?? 3000);
  });
  const read = desec.domain().then(
    (domain) => ({ domain }),
    (error: unknown) => ({ error }),
  );
  const outcome = await Promise.race([read, budget]);
  cancel();
  if ("late" in outcome) {
    world.log.warn(
      "Cannot read deSEC's minimum_ttl at start: no answer in time; TTL limits are checked on the first write",
    );
    return [];
  }
  if ("error" in outcome) {
    world.log.warn("Cannot read deSEC's minimum_ttl at start; TTL limits are checked on the first write", {
      error: String(outcome.error),
    });
    return [];
  }
  return desecTtlProblems(config, outcome.domain.minimum_ttl);
}

function minutes(seconds: number): string {
  return seconds < 120 ? `${seconds} s` : `${Math.round(seconds / 60)} min`;
}
