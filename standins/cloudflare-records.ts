/** The Cloudflare stand-in's records: Cloudflare's record rules and its all-or-nothing batch. */

/** A DNS record as the stand-in stores and returns it. */
export interface CfRecord {
  id: string;
  name: string;
  type: string;
  content: string;
  ttl: number;
  proxied: boolean;
  proxiable: boolean;
  priority?: number;
  comment: string | null;
  tags: string[];
  settings: Record<string, unknown>;
  meta: Record<string, unknown>;
  created_on: string;
  modified_on: string;
}

/** A batch request body. */
export type Batch = {
  deletes?: { id: string }[];
  patches?: Record<string, unknown>[];
  puts?: Record<string, unknown>[];
  posts?: Record<string, unknown>[];
};
/** One error of Cloudflare's envelope. */
export type ApiError = { code: number; message: string; error_chain?: { code: number; message: string }[] };

/** A refusal in Cloudflare's envelope. */
export class CfFault extends Error {
  constructor(
    readonly status: number,
    readonly errors: ApiError[],
  ) {
    super(errors[0]?.message ?? "error");
  }
}

/** What a batch answers: the records it touched, by operation. */
export type BatchResult = {
  deletes?: CfRecord[];
  patches?: CfRecord[];
  puts?: CfRecord[];
  posts?: CfRecord[];
};

/** A `1004 DNS Validation Error` with Cloudflare's detail code. */
export const validation = (code: number, message: string) =>
  new CfFault(400, [{ code: 1004, message: "DNS Validation Error", error_chain: [{ code, message }] }]);
/** A 32-hex-digit id, as Cloudflare uses. */
export const hex32 = () => crypto.randomUUID().replace(/-/g, "");
const TYPES = new Set([
  "A",
  "AAAA",
  "CAA",
  "CNAME",
  "MX",
  "NS",
  "SRV",
  "TXT",
  "PTR",
  "HTTPS",
  "SVCB",
  "DNSKEY",
  "DS",
]);

/** The record with this id, or Cloudflare's 81044. */
export function findRecord(records: Map<string, CfRecord>, id: string | undefined): CfRecord {
  const record = records.get(id ?? "");
  if (!record) throw new CfFault(404, [{ code: 81044, message: "Record does not exist." }]);
  return record;
}

/** Applies a batch in Cloudflare's order in one transaction: all of it or, on the first error, none of it. */
export function commitBatch(
  zone: { name: string; records: Map<string, CfRecord> },
  batch: Batch,
  now: string,
): BatchResult {
  const draft = new Map([...zone.records].map(([id, r]) => [id, { ...r }]));
  const out: BatchResult = {};
  if (batch.deletes)
    out.deletes = batch.deletes.map((d) => {
      const r = findRecord(draft, d.id);
      draft.delete(r.id);
      return r;
    });
  for (const kind of ["patches", "puts"] as const) {
    const items = batch[kind];
    if (!items) continue;
    out[kind] = items.map((item) => {
      const old = findRecord(draft, String(item.id));
      const merged = kind === "patches" ? { ...old, ...item } : { ...item };
      const next = validateRecord(zone.name, draft, merged, old.id);
      draft.set(old.id, { ...old, ...next, modified_on: now });
      return draft.get(old.id) as CfRecord; // just set
    });
  }
  if (batch.posts) {
    out.posts = batch.posts.map((item) => {
      const next = validateRecord(zone.name, draft, item, null);
      const record: CfRecord = {
        ...next,
        id: hex32(),
        comment: null,
        tags: [],
        settings: {},
        meta: {},
        created_on: now,
        modified_on: now,
      };
      draft.set(record.id, record);
      return record;
    });
  }
  zone.records.clear();
  for (const [id, r] of draft) zone.records.set(id, r);
  return out;
}

/** Checks one record against Cloudflare's rules and the zone's other records; returns its stored fields. */
function validateRecord(
  zoneName: string,
  records: Map<string, CfRecord>,
  item: Record<string, unknown>,
  selfId: string | null,
) {
  const type = String(item.type ?? "");
  if (!TYPES.has(type)) throw validation(9000, `DNS record type "${type}" is invalid`);
  let name = String(item.name ?? "")
    .toLowerCase()
    .replace(/\.$/, "");
  if (name === "@" || name === "") name = zoneName;
  else if (name !== zoneName && !name.endsWith(`.${zoneName}`)) name = `${name}.${zoneName}`;
  let content = String(item.content ?? "");
  if (type === "CNAME" || type === "MX" || type === "NS") content = content.toLowerCase().replace(/\.$/, "");
  if (!content) throw validation(9005, `Content for ${type} record is invalid`);
  const ttl = Number(item.ttl ?? 1);
  if (!Number.isInteger(ttl) || (ttl !== 1 && (ttl < 60 || ttl > 86_400))) {
    throw validation(9021, "TTL must be between 60 and 86400 seconds, or 1 for Automatic.");
  }
  const proxiable = ["A", "AAAA", "CNAME"].includes(type);
  const proxied = item.proxied === true;
  if (proxied && !proxiable) throw validation(9004, "This kind of record cannot be proxied.");
  const same = [...records.values()].filter((r) => r.id !== selfId && r.name === name);
  if (type === "CNAME" && same.some((r) => ["A", "AAAA", "CNAME"].includes(r.type))) {
    throw new CfFault(400, [
      { code: 81053, message: "An A, AAAA, or CNAME record with that host already exists." },
    ]);
  }
  if ((type === "A" || type === "AAAA") && same.some((r) => r.type === "CNAME")) {
    throw new CfFault(400, [{ code: 81054, message: "A CNAME record with that host already exists." }]);
  }
  if (same.some((r) => r.type === type && r.content === content)) {
    throw new CfFault(400, [{ code: 81058, message: "An identical record already exists." }]);
  }
  return {
    name,
    type,
    content,
    ttl: proxied ? 1 : ttl,
    proxied,
    proxiable,
    ...(type === "MX" ? { priority: Number(item.priority ?? 0) } : {}),
  };
}
