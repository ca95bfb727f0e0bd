/** deSEC's RRset validation rules for the stand-in: per-item field errors, then CNAME exclusivity over the result. */

/** An RRset as the stand-in stores it (`seq` orders lists newest first). */
export interface Rrset {
  created: string;
  domain: string;
  subname: string;
  name: string;
  type: string;
  records: string[];
  ttl: number;
  touched: string;
  seq: number;
}

/** One validated item of a write. */
export interface RrsetWrite {
  subname: string;
  type: string;
  ttl: number;
  records: string[];
}

type Errors = Record<string, string[]>;
const SUBNAME = /^([*]|(([*][.])?([a-z0-9_-]{1,63}[.])*[a-z0-9_-]{1,63}))$/;
const AUTOMATIC = new Set(["NSEC", "NSEC3", "NSEC3PARAM", "OPT", "RRSIG", "SOA", "KEY"]);
const REQUIRED = "This field is required.";

/** Checks a write (one item for single requests, a list for bulk ones) the way deSEC does. */
export function checkBulk(
  domain: { name: string; minimumTtl: number; rrsets: Map<string, Rrset> },
  items: unknown[],
  request: { method: string; bulk: boolean },
): { ok: true; items: RrsetWrite[] } | { ok: false; errors: unknown } {
  const { method } = request;
  const single = !request.bulk;
  const errors: Errors[] = [];
  const out: RrsetWrite[] = [];
  const seen = new Map<string, number>();
  items.forEach((raw, i) => {
    const e: Errors = {};
    const add = (field: string, message: string) => {
      e[field] = [...(e[field] ?? []), message];
    };
    const item = (raw && typeof raw === "object" ? raw : {}) as Record<string, unknown>; // JSON object or nothing
    const subname =
      item.subname === undefined ? (single && method === "POST" ? "" : undefined) : String(item.subname);
    if (subname === undefined) add("subname", REQUIRED);
    else if (subname !== "" && !SUBNAME.test(subname)) add("subname", "Subname is not valid.");
    const type = typeof item.type === "string" ? item.type : undefined;
    if (!type) add("type", REQUIRED);
    else if (!/^[A-Z][A-Z0-9]*$/.test(type)) add("type", "Type must be uppercase.");
    else if (AUTOMATIC.has(type))
      add("type", `You cannot tinker with the ${type} RR set. It is managed automatically.`);
    const existing = subname !== undefined && type ? domain.rrsets.get(`${subname}/${type}`) : undefined;
    if (method === "POST" && existing) {
      add(
        "non_field_errors",
        "Another RRset with the same subdomain and type exists for this domain. (Try modifying it.)",
      );
    }
    const partial = method === "PATCH" && existing !== undefined;
    const ttl = item.ttl === undefined ? (partial ? existing?.ttl : undefined) : Number(item.ttl);
    const records = item.records === undefined ? (partial ? existing?.records : undefined) : item.records;
    if (ttl === undefined) add("ttl", REQUIRED);
    else if (!Number.isInteger(ttl)) add("ttl", "A valid integer is required.");
    else if (ttl < domain.minimumTtl)
      add("ttl", `Ensure this value is greater than or equal to ${domain.minimumTtl}.`);
    else if (ttl > 86_400) add("ttl", "Ensure this value is less than or equal to 86400.");
    if (records === undefined) add("records", REQUIRED);
    else if (!Array.isArray(records) || records.some((r) => typeof r !== "string"))
      add("records", "Expected a list of items.");
    else if (records.length === 0 && method === "POST")
      add("records", "This field must not be empty when using POST.");
    const values = Array.isArray(records) ? records.map(String) : [];
    if (type === "CNAME" && values.length > 0) {
      if (values.length > 1) add("records", "CNAME RRset cannot have multiple records.");
      if (subname === "") add("non_field_errors", "CNAME RRset cannot have empty subname.");
      if (values.some((v) => !v.endsWith(".")))
        add("records", 'Hostname must be fully qualified (i.e., end in a dot: "example.com.")');
    }
    const k = `${subname}/${type}`;
    const before = seen.get(k);
    if (before !== undefined)
      add("non_field_errors", `Same subname and type as in position(s) ${before}, but must be unique.`);
    seen.set(k, i);
    errors.push(e);
    if (Object.keys(e).length === 0 && subname !== undefined && type && ttl !== undefined) {
      out.push({ subname, type, ttl, records: values });
    }
  });
  if (errors.every((e) => Object.keys(e).length === 0)) conflicts(domain.rrsets, out, errors);
  if (errors.some((e) => Object.keys(e).length > 0))
    return { ok: false, errors: single ? errors[0] : errors };
  return { ok: true, items: out };
}

/** CNAME exclusivity over the state after the write (emptied RRsets no longer count, as in deSEC). */
function conflicts(current: Map<string, Rrset>, writes: RrsetWrite[], errors: Errors[]): void {
  const after = new Map<string, Set<string>>();
  for (const r of current.values()) after.set(r.subname, new Set([...(after.get(r.subname) ?? []), r.type]));
  for (const w of writes) {
    const types = after.get(w.subname) ?? new Set<string>();
    if (w.records.length === 0) types.delete(w.type);
    else types.add(w.type);
    after.set(w.subname, types);
  }
  writes.forEach((w, i) => {
    const types = after.get(w.subname);
    if (!types?.has("CNAME") || types.size < 2 || w.records.length === 0) return;
    const others = [...types].filter((t) => t !== "CNAME").sort();
    const clash = w.type === "CNAME" ? others.join(", ") : "CNAME";
    errors[i] = {
      non_field_errors: [
        `RRset with conflicting type present at same subname: ${w.subname} (${clash}). (No other RRsets are allowed alongside CNAME.)`,
      ],
    };
  });
}
