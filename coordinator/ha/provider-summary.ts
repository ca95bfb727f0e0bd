/**
 * The leader's view of each DNS provider, published in etcd so that a follower's `/v1/status`
 * shows the cluster's DNS state instead of its own idle rows. One key per provider
 * (`PREFIX/dns/PROVIDER`), compact: routers are grouped by (state, target, error), a target is
 * written as the path it belongs to ("primary"/"secondary") when it is one, and the largest group
 * is the `base` every unlisted router belongs to — in steady state a summary of 10,000 routers is
 * a few hundred bytes. The leader writes a key only when its content changes, fenced by its lease
 * revision, so steady state costs etcd no writes at all.
 */

import type { DesiredTarget } from "../dns/reconciler.ts";
import type { ProviderRouterRow } from "../store/store.ts";

/** Where a router's provider row points: one of its service's paths, or a literal target. */
type Pointer = { path: "primary" | "secondary" } | { target: string | null };

/** Routers in the same state, pointing the same way, with the same error. */
export interface SummaryGroup {
  state: ProviderRouterRow["state"];
  to: Pointer;
  error?: string;
  /** The newest `updatedAt` among its routers when the summary last changed. */
  at: number;
  routers: string[];
}

/** One provider as the leader last published it. */
export interface ProviderSummary {
  provider: string;
  /** The leader that wrote it, and when. */
  leader: string;
  writtenAt: number;
  /** Routers listed in no group are in this one (its `routers` list is left empty). */
  base: SummaryGroup;
  groups: SummaryGroup[];
}

/** A service's two targets, by router name: what `path` pointers resolve to. */
export type PathTargets = (router: string) => { primary: string; secondary: string } | undefined;

/** A summary past this many bytes drops its error texts (etcd's default request limit is 1.5 MiB). */
export const SUMMARY_MAX_BYTES = 1024 * 1024;

/** Builds one provider's summary from the leader's rows. */
export function summarize(
  rows: readonly ProviderRouterRow[],
  targets: PathTargets,
  meta: { provider: string; leader: string; writtenAt: number },
): ProviderSummary {
  const groups = new Map<string, SummaryGroup>();
  for (const row of rows) {
    const paths = targets(row.router);
    const to: Pointer =
      paths && row.target === paths.primary
        ? { path: "primary" }
        : paths && row.target === paths.secondary
          ? { path: "secondary" }
          : { target: row.target };
    const key = JSON.stringify([row.state, to, row.error ?? null]);
    const group = groups.get(key);
    if (group) {
      group.routers.push(row.router);
      group.at = Math.max(group.at, row.updatedAt);
    } else {
      groups.set(key, {
        state: row.state,
        to,
        ...(row.error !== undefined ? { error: row.error } : {}),
        at: row.updatedAt,
        routers: [row.router],
      });
    }
  }
  const sorted = [...groups.values()].sort((a, b) => b.routers.length - a.routers.length);
  const [largest, ...rest] = sorted;
  const base = largest
    ? { ...largest, routers: [] }
    : { state: "pending" as const, to: { target: null }, at: meta.writtenAt, routers: [] };
  return { ...meta, base, groups: rest };
}

/** What decides whether a summary must be written again: everything but the times. */
export function contentOf(summary: ProviderSummary): string {
  const strip = ({ at: _at, ...group }: SummaryGroup) => group;
  return JSON.stringify([strip(summary.base), summary.groups.map(strip)]);
}

/** The summary as stored: JSON, without error texts when it would pass `SUMMARY_MAX_BYTES`. */
export function encodeSummary(summary: ProviderSummary): string {
  const json = JSON.stringify(summary);
  if (json.length <= SUMMARY_MAX_BYTES) return json;
  const plain = (g: SummaryGroup): SummaryGroup => ({
    ...g,
    ...(g.error !== undefined
      ? { error: "Too many distinct errors to publish; read the leader's status" }
      : {}),
  });
  return JSON.stringify({ ...summary, base: plain(summary.base), groups: summary.groups.map(plain) });
}

/** Reads a stored summary back; null for a value this code did not write. */
export function decodeSummary(value: string): ProviderSummary | null {
  try {
    // Written only by encodeSummary; the fields used below are checked before use.
    const raw = JSON.parse(value) as Partial<ProviderSummary>;
    if (typeof raw.provider !== "string" || !raw.base || !Array.isArray(raw.groups)) return null;
    return {
      provider: raw.provider,
      leader: String(raw.leader ?? ""),
      writtenAt: Number(raw.writtenAt ?? 0),
      base: raw.base,
      groups: raw.groups,
    };
  } catch {
    return null;
  }
}

/** A summary expanded back into one row per desired router, as this member's status shows it. */
export function expand(
  summary: ProviderSummary,
  desired: readonly DesiredTarget[],
  targets: PathTargets,
): ProviderRouterRow[] {
  const byRouter = new Map<string, SummaryGroup>();
  for (const group of summary.groups) for (const router of group.routers) byRouter.set(router, group);
  return desired.map((d) => {
    const group = byRouter.get(d.router) ?? summary.base;
    const paths = targets(d.router);
    const target = "path" in group.to ? (paths?.[group.to.path] ?? null) : group.to.target;
    return {
      provider: summary.provider,
      router: d.router,
      state: group.state,
      target,
      ...(group.error !== undefined ? { error: group.error } : {}),
      updatedAt: group.at,
    };
  });
}
