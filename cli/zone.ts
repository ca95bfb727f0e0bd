/** `healthmesh plan`, `healthmesh apply [--yes] [--force]` and `healthmesh validate --online`. */
import { createProviders, createZoneProviders } from "../coordinator/dns/factory.ts";
import { preflight, zoneTtlProblems } from "../coordinator/dns/preflight.ts";
import { applyPlan, formatPlan, planZone } from "../coordinator/dns/zone-sync.ts";
import { systemClock } from "../shared/clock.ts";
import type { Config } from "../shared/config-schema.ts";

/** What the zone commands run with. */
export interface ZoneCommandWorld {
  env: (name: string) => string | undefined;
  fetch: typeof fetch;
  write: (line: string) => void;
  /** Asks the operator to confirm the plan on a terminal; absent when there is none to ask on. */
  confirm?: (question: string) => Promise<boolean>;
}

const world = (w: ZoneCommandWorld) => ({ env: w.env, fetch: w.fetch, clock: systemClock() });

/** Prints the per-provider diff of the declared records; exit 2 on a TTL deSEC would refuse, 1 when a provider cannot be read. */
export async function runPlan(config: Config, w: ZoneCommandWorld): Promise<number> {
  const providers = createZoneProviders(config, world(w));
  if (providers.length === 0) {
    w.write("No provider with a zone is configured (cloudflare, desec, powerdns): nothing to plan");
    return 0;
  }
  const plans = await planZone(config, providers);
  for (const line of formatPlan(plans, config.zone)) w.write(line);
  w.write(
    "Routers (services[].router) belong to failover and are not part of the plan; undeclared records are never touched",
  );
  const ttlProblems = await zoneTtlProblems(config, providers);
  for (const problem of ttlProblems) w.write(problem);
  if (ttlProblems.length > 0) return 2;
  return plans.every((p) => p.ok) ? 0 : 1;
}

/** Plans, then applies after `--yes` or a yes on the terminal; exit 2 without either, on a TTL deSEC would refuse (nothing written anywhere) or when a plan needs `--force`, 1 on a failed write. */
export async function runApply(
  config: Config,
  w: ZoneCommandWorld,
  flags: { yes: boolean; force: boolean },
): Promise<number> {
  const providers = createZoneProviders(config, world(w));
  const plans = await planZone(config, providers);
  for (const line of formatPlan(plans, config.zone)) w.write(line);
  // Checked before any write: one provider applied and the other refusing would leave them different.
  const ttlProblems = await zoneTtlProblems(config, providers);
  for (const problem of ttlProblems) w.write(problem);
  if (ttlProblems.length > 0) {
    w.write("Nothing applied: fix the TTLs above first");
    return 2;
  }
  if (!flags.yes) {
    if (!w.confirm) {
      w.write("Nothing applied: no terminal to confirm on, re-run with --yes to apply this plan");
      return 2;
    }
    if (!(await w.confirm("Apply this plan? [y/N] "))) {
      w.write("Nothing applied");
      return 0;
    }
  }
  const outcomes = await applyPlan(plans, providers, { force: flags.force });
  let code = 0;
  for (const outcome of outcomes) {
    if (outcome.status === "applied")
      w.write(`${outcome.provider}: applied ${outcome.written} record set(s)`);
    else if (outcome.status === "nothing") w.write(`${outcome.provider}: nothing to do`);
    else {
      w.write(
        outcome.message.startsWith("Cannot") ? outcome.message : `${outcome.provider}: ${outcome.message}`,
      );
      code = Math.max(code, outcome.status === "refused" ? 2 : 1);
    }
  }
  return code;
}

/** Checks tokens, zones and TTL limits on every provider; exit 2 on a TTL a provider refuses, 1 on other failures. */
export async function runValidateOnline(config: Config, w: ZoneCommandWorld): Promise<number> {
  const findings = await preflight(config, createProviders(config, world(w)));
  for (const f of findings) w.write(`${f.level.padEnd(7)} ${f.provider}: ${f.message}`);
  if (findings.some((f) => f.ttl)) return 2;
  return findings.some((f) => f.level === "error") ? 1 : 0;
}
