/**
 * Cloudflare API v4 client behind the DNS ports. Names are FQDNs without a trailing dot, CNAME content
 * has no trailing dot (added on read, stripped on write); router writes go out as one batch request.
 */
import {
  type Batch,
  type CloudflareRecord,
  nameSets,
  planRouter,
  type RecordBody,
} from "./cloudflare-routers.ts";
import { NotFoundError, ServerError } from "./errors.ts";
import {
  type ApiClientOptions,
  type ApiResponse,
  joinUrl,
  retryAfterOf,
  send,
  summariseBody,
  toDnsError,
  withoutDot,
} from "./http.ts";
import {
  type CallOptions,
  canonicalValue,
  type DnsProvider,
  type RouterChange,
  type RouterRecord,
  routerView,
  type ZoneProvider,
  type ZoneRecord,
} from "./provider.ts";

export type { CloudflareRecord } from "./cloudflare-routers.ts";

/** Cloudflare's documented codes for same-name clashes (81053/81054) and duplicates (81057/81058). */
const CONFLICT_CODES = new Set(["81053", "81054", "81057", "81058"]);
/** Codes that mean a missing, malformed or unusable credential, whatever the HTTP status. */
const AUTH_CODES = new Set(["9106", "9109", "9103", "6003", "6111", "10000"]);

/** Options of the Cloudflare client. */
export interface CloudflareOptions extends ApiClientOptions {
  /** The zone name, e.g. `example.com`. */
  zone: string;
  /** Looked up with `GET /zones?name=` when absent. */
  zoneId?: string;
  /** Most operations per batch request (Free plans: 200). */
  batchLimit?: number;
  /** Page size of record lists. */
  perPage?: number;
}

/** The Cloudflare DNS provider. */
export class CloudflareDnsProvider implements DnsProvider, ZoneProvider {
  readonly name = "cloudflare";
  readonly #options: CloudflareOptions;
  #zoneId: string | undefined;
  /** Records by lowercased name, from the last full listing; write() uses their ids. */
  #byName = new Map<string, CloudflareRecord[]>();

  constructor(options: CloudflareOptions) {
    this.#options = options;
    this.#zoneId = options.zoneId;
  }

  /** Checks the token with `GET /user/tokens/verify`; returns Cloudflare's status word (e.g. `active`). */
  async verifyToken(): Promise<string> {
    const result = await this.#call("GET", "user/tokens/verify", "Cannot verify the Cloudflare token");
    const status = (result.result as { status?: unknown } | null)?.status; // envelope result is an object here
    return typeof status === "string" ? status : "unknown";
  }

  /** The zone id, looked up by name once. */
  async zoneId(signal?: AbortSignal): Promise<string> {
    if (this.#zoneId) return this.#zoneId;
    const zone = this.#options.zone;
    const what = `Cannot find zone "${zone}" on Cloudflare`;
    const found = await this.#call("GET", `zones?name=${encodeURIComponent(zone)}`, what, undefined, signal);
    const zones = listOf<{ id?: unknown; name?: unknown }>(found.result, what);
    const id = zones.find((z) => z.name === zone)?.id;
    if (typeof id !== "string") {
      throw new NotFoundError("cloudflare", `${what}: no zone of that name is visible to this token`, {
        status: 200,
      });
    }
    this.#zoneId = id;
    return id;
  }

  async readRouters(
    names: readonly string[],
    options?: CallOptions,
  ): Promise<Map<string, RouterRecord | null>> {
    await this.#refresh(options?.signal);
    return new Map(
      names.map((name) => [name, routerView(name, nameSets(this.#byName.get(name.toLowerCase()) ?? []))]),
    );
  }

  async writeRouters(changes: readonly RouterChange[], options?: CallOptions): Promise<void> {
    const signal = options?.signal;
    if (changes.some((c) => !this.#byName.has(c.name.toLowerCase()))) await this.#refresh(signal);
    const batch: Batch = { deletes: [], patches: [], posts: [] };
    for (const change of changes)
      planRouter(change, this.#byName.get(change.name.toLowerCase()) ?? [], batch);
    await this.#batch(batch, signal);
  }

  async listRecords(): Promise<ZoneRecord[]> {
    await this.#refresh();
    const out: ZoneRecord[] = [];
    for (const records of this.#byName.values()) {
      const types = new Set(records.map((r) => r.type));
      for (const type of types) {
        const same = records.filter((r) => r.type === type);
        const first = same[0];
        if (!first) continue;
        out.push({
          name: first.name.toLowerCase(),
          type,
          values: same.map((r) => canonicalValue(type, fromContent(r))),
          ttl: first.ttl,
          ...(first.proxied !== undefined ? { proxied: first.proxied } : {}),
        });
      }
    }
    return out;
  }

  async applyRecords(sets: readonly ZoneRecord[]): Promise<void> {
    await this.#refresh();
    const batch: Batch = { deletes: [], patches: [], posts: [] };
    for (const set of sets) {
      const existing = (this.#byName.get(set.name) ?? []).filter((r) => r.type === set.type);
      set.values.forEach((value, i) => {
        const body: RecordBody = {
          type: set.type,
          name: set.name,
          ...toContent(set.type, value),
          ttl: set.proxied ? 1 : set.ttl,
          ...(set.proxied !== undefined ? { proxied: set.proxied } : {}),
        };
        const old = existing[i];
        if (old) batch.patches.push({ ...body, id: old.id });
        else batch.posts.push(body);
      });
      for (const surplus of existing.slice(set.values.length)) batch.deletes.push({ id: surplus.id });
    }
    await this.#batch(batch);
  }

  async #batch(batch: Batch, signal?: AbortSignal): Promise<void> {
    const zoneId = await this.zoneId(signal);
    const limit = this.#options.batchLimit ?? 200;
    const ops = [
      ...batch.deletes.map((d) => ({ kind: "deletes" as const, op: d })),
      ...batch.patches.map((p) => ({ kind: "patches" as const, op: p })),
      ...batch.posts.map((p) => ({ kind: "posts" as const, op: p })),
    ];
    for (let i = 0; i < ops.length; i += limit) {
      const chunk = ops.slice(i, i + limit);
      const body: Record<string, unknown[]> = {};
      for (const { kind, op } of chunk) body[kind] = [...(body[kind] ?? []), op];
      const what = `Cannot write ${chunk.length} record(s) in zone "${this.#options.zone}" on Cloudflare`;
      await this.#call("POST", `zones/${zoneId}/dns_records/batch`, what, body, signal);
    }
    this.#byName.clear();
  }

  async #refresh(signal?: AbortSignal): Promise<void> {
    const zoneId = await this.zoneId(signal);
    const perPage = this.#options.perPage ?? 5000;
    const byName = new Map<string, CloudflareRecord[]>();
    const what = `Cannot list the records of zone "${this.#options.zone}" on Cloudflare`;
    for (let page = 1; ; page++) {
      const path = `zones/${zoneId}/dns_records?page=${page}&per_page=${perPage}`;
      const answer = await this.#call("GET", path, what, undefined, signal);
      const records = listOf(answer.result, what);
      for (const record of records) {
        const key = record.name.toLowerCase();
        byName.set(key, [...(byName.get(key) ?? []), record]);
      }
      // Cloudflare may serve fewer per page than asked: the page count it states decides, not a short page.
      const total = (answer.result_info as { total_pages?: unknown } | undefined)?.total_pages; // list endpoints carry result_info
      if (typeof total === "number" ? page >= total : records.length < perPage) break;
    }
    this.#byName = byName;
  }

  async #call(
    method: string,
    path: string,
    what: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<{ result: unknown; result_info?: unknown }> {
    const response = await send("cloudflare", this.#options, {
      url: joinUrl(this.#options.apiBase, path),
      method,
      headers: { authorization: `Bearer ${this.#options.token}` },
      ...(body !== undefined ? { body } : {}),
      signal,
    });
    const envelope = response.body as { success?: unknown; result?: unknown; result_info?: unknown }; // checked below
    if (response.status < 300 && envelope && typeof envelope === "object" && envelope.success === true) {
      return { result: envelope.result, result_info: envelope.result_info };
    }
    throw this.#fault(response, what);
  }

  #fault(response: ApiResponse, what: string) {
    const errors = (response.body as { errors?: unknown } | null)?.errors; // Cloudflare's envelope, if any
    const first = Array.isArray(errors)
      ? (errors[0] as
          | { code?: unknown; message?: unknown; error_chain?: { code?: unknown; message?: unknown }[] }
          | undefined) // envelope error items
      : undefined;
    const code = first?.code !== undefined ? String(first.code) : undefined;
    const chain = (first?.error_chain ?? [])
      .map((e) => `${String(e.message)} (code ${String(e.code)})`)
      .join("; ");
    const base =
      typeof first?.message === "string" ? first.message : summariseBody(response.status, response.body);
    const message = chain ? `${base}: ${chain}` : base;
    if (response.status < 300) {
      // A 2xx that is not Cloudflare's success envelope (a proxy's page, a cut body): worth another try.
      return new ServerError("cloudflare", `${what}: not Cloudflare's success answer: ${message}`, {
        status: response.status,
      });
    }
    const retryAfterMs = retryAfterOf(response, this.#options.clock);
    const kind =
      code === undefined
        ? undefined
        : AUTH_CODES.has(code)
          ? ("auth" as const)
          : CONFLICT_CODES.has(code)
            ? ("conflict" as const)
            : code === "81044"
              ? ("not-found" as const)
              : undefined;
    return toDnsError("cloudflare", what, {
      status: response.status,
      message,
      ...(code !== undefined ? { code } : {}),
      ...(kind ? { kind } : {}),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    });
  }
}

/** A list endpoint's `result`; a success answer without the list is an error, never an empty list. */
function listOf<T = CloudflareRecord>(result: unknown, what: string): T[] {
  if (Array.isArray(result)) return result as T[]; // Cloudflare's list endpoints answer an array of objects
  throw new ServerError(
    "cloudflare",
    `${what}: the success answer has no result list (got ${result === null ? "null" : typeof result}); nothing is assumed about the zone`,
  );
}

function fromContent(record: CloudflareRecord & { data?: Record<string, unknown> }): string {
  if (record.type === "MX") return `${record.priority ?? 0} ${record.content}`;
  if (typeof record.content === "string") return record.content;
  // Older answers give CAA and SRV only as structured `data` (octoDNS's fixtures of real output do).
  const d = record.data ?? {};
  if (record.type === "CAA")
    return `${String(d.flags ?? 0)} ${String(d.tag ?? "")} "${String(d.value ?? "")}"`;
  if (record.type === "SRV") {
    return `${String(d.priority ?? 0)} ${String(d.weight ?? 0)} ${String(d.port ?? 0)} ${String(d.target ?? "")}`;
  }
  return JSON.stringify(d);
}

function toContent(type: string, value: string): { content: string; priority?: number } {
  if (type === "MX") {
    const [priority = "0", host = ""] = value.split(/\s+/, 2);
    return { content: withoutDot(host), priority: Number(priority) };
  }
  if (type === "CNAME" || type === "NS") return { content: withoutDot(value) };
  return { content: value };
}
