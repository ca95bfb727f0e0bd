/**
 * Zone sync (`healthmesh plan` / `apply`): compares the declared `records` with what each provider
 * holds and creates or updates only those. Undeclared records and the routers are never touched, and
 * nothing is ever deleted. Like octoDNS, a plan that would update more than 30 % of a zone's declared
 * records is refused unless forced.
 */
import type { Config } from "../../shared/config-schema.ts";
import { DnsError } from "./errors.ts";
import { canonicalValue, type ZoneProvider, type ZoneRecord } from "./provider.ts";

/** Largest share of declared records an apply may update without `--force`. */
export const MAX_SAFE_UPDATE_SHARE = 0.3;

/** What a plan does with one declared record on one provider. */
export type RecordAction =
  | { kind: "create"; desired: ZoneRecord }
  | { kind: "update"; desired: ZoneRecord; current: ZoneRecord }
  | { kind: "unchanged"; desired: ZoneRecord }
  | { kind: "conflict"; desired: ZoneRecord; reason: string };

/** The plan for one provider: its actions, or why it could not be read. */
export type ProviderPlan =
  | { provider: string; ok: true; actions: RecordAction[]; updates: number; creates: number; unsafe: boolean }
  | { provider: string; ok: false; error: string };

type ProviderName = "cloudflare" | "desec" | "powerdns" | "memory";

/** The record sets a provider should hold for the declared records, with that provider's overrides. */
export function declaredRecords(config: Config, provider: string): ZoneRecord[] {
  const routers = new Set(config.services.map((s) => fqdn(config.zone, s.router)));
  return config.records
    .map((record): ZoneRecord => {
      const override = record[provider as ProviderName]; // undefined for a provider without overrides
      const type = override?.type ?? record.type;
      const value = override?.value ?? record.value;
      return {
        name: fqdn(config.zone, record.name),
        type,
        values: (Array.isArray(value) ? value : [value]).map((v) => canonicalValue(type, v)),
        ttl: override?.ttl ?? record.ttl,
        ...(provider === "cloudflare" && override?.proxied !== undefined
          ? { proxied: override.proxied }
          : {}),
      };
    })
    .filter((record) => !routers.has(record.name));
}

/** Compares declared and current record sets of one provider. */
export function planRecords(provider: string, desired: ZoneRecord[], current: ZoneRecord[]): ProviderPlan {
  const actions = desired.map((d): RecordAction => {
    const here = current.filter((c) => c.name === d.name);
    const same = here.find((c) => c.type === d.type);
    const clash =
      d.type === "CNAME" ? here.find((c) => c.type !== "CNAME") : here.find((c) => c.type === "CNAME");
    if (!same && clash) {
      return {
        kind: "conflict",
        desired: d,
        reason: `a ${clash.type} record is at that name and is not declared; left alone`,
      };
    }
    if (!same) return { kind: "create", desired: d };
    return sameRecord(d, same)
      ? { kind: "unchanged", desired: d }
      : { kind: "update", desired: d, current: same };
  });
  const updates = actions.filter((a) => a.kind === "update").length;
  const creates = actions.filter((a) => a.kind === "create").length;
  return {
    provider,
    ok: true,
    actions,
    updates,
    creates,
    unsafe: desired.length > 0 && updates / desired.length > MAX_SAFE_UPDATE_SHARE,
  };
}

/** Reads every provider and plans it; a provider that cannot be read gets an error plan, the others still plan. */
export async function planZone(config: Config, providers: readonly ZoneProvider[]): Promise<ProviderPlan[]> {
  return Promise.all(
    providers.map(async (provider): Promise<ProviderPlan> => {
      try {
        const current = await provider.listRecords();
        return planRecords(provider.name, declaredRecords(config, provider.name), current);
      } catch (error) {
        return { provider: provider.name, ok: false, error: errorText(error) };
      }
    }),
  );
}

/** The outcome of applying one provider's plan. */
export type ApplyOutcome =
  | { provider: string; status: "applied"; written: number }
  | { provider: string; status: "nothing" }
  | { provider: string; status: "refused" | "failed"; message: string };

/** Applies each provider's creates and updates in one write per provider; unsafe plans need `force`. */
export async function applyPlan(
  plans: readonly ProviderPlan[],
  providers: readonly ZoneProvider[],
  options: { force: boolean },
): Promise<ApplyOutcome[]> {
  return Promise.all(
    plans.map(async (plan): Promise<ApplyOutcome> => {
      if (!plan.ok) return { provider: plan.provider, status: "failed", message: plan.error };
      const writes = plan.actions
        .filter((a) => a.kind === "create" || a.kind === "update")
        .map((a) => a.desired);
      if (writes.length === 0) return { provider: plan.provider, status: "nothing" };
      if (plan.unsafe && !options.force) {
        const declared = plan.actions.length;
        return {
          provider: plan.provider,
          status: "refused",
          message: `Cannot apply to ${plan.provider}: ${plan.updates} of ${declared} declared records would change (${Math.round((100 * plan.updates) / declared)} %, more than ${MAX_SAFE_UPDATE_SHARE * 100} %); check the plan and re-run with --force`,
        };
      }
      const provider = providers.find((p) => p.name === plan.provider);
      if (!provider) return { provider: plan.provider, status: "failed", message: "Provider not configured" };
      try {
        await provider.applyRecords(writes);
        return { provider: plan.provider, status: "applied", written: writes.length };
      } catch (error) {
        return { provider: plan.provider, status: "failed", message: errorText(error) };
      }
    }),
  );
}

/** The plan as lines for a terminal: `+` create, `~` update, `=` unchanged, `!` conflict. */
export function formatPlan(plans: readonly ProviderPlan[], zone: string): string[] {
  const lines: string[] = [];
  for (const plan of plans) {
    if (!plan.ok) {
      lines.push(`${plan.provider}: cannot plan: ${plan.error}`);
      continue;
    }
    const unchanged = plan.actions.length - plan.creates - plan.updates;
    lines.push(
      `${plan.provider} (zone ${zone}): ${plan.creates} to create, ${plan.updates} to update, ${unchanged} unchanged`,
    );
    for (const action of plan.actions) lines.push(`  ${formatAction(action, zone)}`);
    if (plan.unsafe) {
      lines.push(
        `  ! ${plan.updates} of ${plan.actions.length} declared records would change: more than ${MAX_SAFE_UPDATE_SHARE * 100} %, apply needs --force`,
      );
    }
  }
  return lines;
}

function formatAction(action: RecordAction, zone: string): string {
  const d = action.desired;
  const label = `${relative(d.name, zone)} ${d.type}`;
  const show = (r: ZoneRecord) => `${r.ttl} ${r.values.join(", ")}${r.proxied ? " (proxied)" : ""}`;
  switch (action.kind) {
    case "create":
      return `+ ${label} ${show(d)}`;
    case "update":
      return `~ ${label} ${show(action.current)} -> ${show(d)}`;
    case "unchanged":
      return `= ${label} ${show(d)}`;
    case "conflict":
      return `! ${label}: ${action.reason}`;
  }
}

function sameRecord(desired: ZoneRecord, current: ZoneRecord): boolean {
  const a = [...desired.values].sort();
  const b = [...current.values].map((v) => canonicalValue(current.type, v)).sort();
  if (a.length !== b.length || a.some((v, i) => v !== b[i])) return false;
  if (desired.proxied !== undefined && desired.proxied !== (current.proxied ?? false)) return false;
  // Proxied records always carry Cloudflare's automatic TTL, whatever was declared.
  return desired.proxied === true || desired.ttl === current.ttl;
}

function fqdn(zone: string, name: string): string {
  return name === "@" ? zone : `${name}.${zone}`;
}

function relative(name: string, zone: string): string {
  return name === zone ? "@" : name.slice(0, -zone.length - 1);
}

function errorText(error: unknown): string {
  return error instanceof DnsError || error instanceof Error ? error.message : String(error);
}
