/**
 * How one router change becomes Cloudflare batch operations, and how Cloudflare's records at a name are
 * read as a router. A CNAME router is one CNAME record; an address router is one record per address
 * (Cloudflare has no RRsets): values already served are kept, the rest are patched in place, added or
 * deleted — never patched onto a value another record holds (Cloudflare refuses that with 81058).
 */

import { canonicalIpv6 } from "../../shared/router-value.ts";
import { ConflictError } from "./errors.ts";
import { withoutDot } from "./http.ts";
import { addressFamilies, canonicalValue, type RouterChange, routerType } from "./provider.ts";

/** A DNS record as Cloudflare returns it (the fields we use). */
export interface CloudflareRecord {
  id: string;
  name: string;
  type: string;
  content: string;
  ttl: number;
  proxied?: boolean;
  priority?: number;
}

/** A record body without its id. */
export type RecordBody = Omit<CloudflareRecord, "id">;
/** The operations of one batch request. */
export type Batch = { deletes: { id: string }[]; patches: CloudflareRecord[]; posts: RecordBody[] };
/** The `result` of one batch request: the records each list touched, as saved. */
export type BatchResult = { deletes?: unknown; patches?: unknown; puts?: unknown; posts?: unknown };

const conflict = (name: string, type: string) =>
  new ConflictError(
    "cloudflare",
    `Cannot switch "${name}" on cloudflare: it holds a ${type} record, which healthmesh never replaces`,
  );

/** Adds the operations for `change` to `batch`, given the records at its name; throws `ConflictError` for a record of another kind. */
export function planRouter(change: RouterChange, records: readonly CloudflareRecord[], batch: Batch): void {
  // Always DNS-only: a proxied record is answered by Cloudflare's edge, so resolvers would never see the switch.
  const base = { name: change.name, ttl: change.ttl, proxied: false };
  if (routerType(change.target) === "CNAME") {
    const other = records.find((r) => r.type !== "CNAME");
    if (other) throw conflict(change.name, other.type);
    const body = { ...base, type: "CNAME", content: withoutDot(change.target) };
    const existing = records[0];
    if (existing) batch.patches.push({ ...body, id: existing.id });
    else batch.posts.push(body);
    return;
  }
  const cname = records.find((r) => r.type === "CNAME");
  if (cname) throw conflict(change.name, "CNAME");
  const wanted = addressFamilies(change.target);
  for (const type of ["A", "AAAA"] as const) {
    const norm = (r: CloudflareRecord) => (type === "AAAA" ? canonicalIpv6(r.content) : r.content);
    const here = records.filter((r) => r.type === type);
    const kept = here.filter((r) => wanted[type].includes(norm(r)));
    const spare = here.filter((r) => !wanted[type].includes(norm(r)));
    const missing = wanted[type].filter((v) => !here.some((r) => norm(r) === v));
    for (const r of kept) {
      if (r.ttl !== change.ttl || r.proxied === true)
        batch.patches.push({ ...base, type, content: r.content, id: r.id });
    }
    missing.forEach((content, i) => {
      const reuse = spare[i];
      if (reuse) batch.patches.push({ ...base, type, content, id: reuse.id });
      else batch.posts.push({ ...base, type, content });
    });
    for (const r of spare.slice(missing.length)) batch.deletes.push({ id: r.id });
  }
}

/** Cloudflare's records at one name as the RRsets `routerView` reads. */
export function nameSets(records: readonly CloudflareRecord[]) {
  const types = [...new Set(records.map((r) => r.type))];
  return types.map((type) => {
    const same = records.filter((r) => r.type === type);
    return {
      type,
      values: same.map((r) => (type === "CNAME" ? canonicalValue("CNAME", r.content) : String(r.content))),
      ttl: same[0]?.ttl ?? 0,
      proxied: same.some((r) => r.proxied === true),
    };
  });
}

/**
 * The records at each of `names` after a batch, from what was there (`before`) and the records the
 * batch's answers say were saved; null when an answer lacks a list the batch sent operations for.
 */
export function afterBatch(
  batch: Batch,
  results: readonly BatchResult[],
  before: (name: string) => readonly CloudflareRecord[],
  names: readonly string[],
): Map<string, CloudflareRecord[]> | null {
  const saved: CloudflareRecord[] = [];
  for (const kind of ["patches", "posts"] as const) {
    const answered = results.flatMap((r) => (Array.isArray(r[kind]) ? (r[kind] as unknown[]) : []));
    if (answered.length !== batch[kind].length || !answered.every(isRecord)) return null;
    saved.push(...answered);
  }
  const gone = new Set([...batch.deletes.map((d) => d.id), ...saved.map((r) => r.id)]);
  return new Map(
    names.map((name) => [
      name,
      [...before(name).filter((r) => !gone.has(r.id)), ...saved.filter((r) => r.name.toLowerCase() === name)],
    ]),
  );
}

function isRecord(value: unknown): value is CloudflareRecord {
  const r = value as Partial<CloudflareRecord> | null; // checked field by field
  return (
    !!r &&
    typeof r.id === "string" &&
    typeof r.name === "string" &&
    typeof r.type === "string" &&
    typeof r.ttl === "number"
  );
}
