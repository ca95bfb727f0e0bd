/**
 * Cloudflare API v4 client behind the DNS ports. Names are FQDNs without a trailing dot, CNAME content
 * has no trailing dot (added on read, stripped on write); router writes go out as one batch request.
 */

import { fromContent, toContent } from "./cloudflare-content.ts";
import { cloudflareFault, listOf } from "./cloudflare-errors.ts";
import {
  afterBatch,
  type Batch,
  type BatchResult,
  type CloudflareRecord,
  nameSets,
  planRouter,
  type RecordBody,
} from "./cloudflare-routers.ts";
import { NotFoundError } from "./errors.ts";
import { type ApiClientOptions, joinUrl, send } from "./http.ts";
import {
  type CallOptions,
  canonicalValue,
  type DnsProvider,
  type RouterChange,
  type RouterRecord,
  routerView,
  type ServedRouters,
  type ZoneProvider,
  type ZoneRecord,
} from "./provider.ts";

export type { CloudflareRecord } from "./cloudflare-routers.ts";

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
  /** Records by lowercased name, from the last reads (a listing, or one `?name=` read per name); writes use their ids. */
  #byName = new Map<string, CloudflareRecord[]>();
  /** Pages the last full listing took: reading more names than this one by one would cost more than listing. */
  #pages: number | undefined;

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

  /** A few names: one `?name=` read each (every type at the name, so a conflict shows); many: the paged listing. */
  async readRouters(
    names: readonly string[],
    options?: CallOptions,
  ): Promise<Map<string, RouterRecord | null>> {
    await this.#read(names, options?.signal);
    return new Map(
      names.map((name) => [name, routerView(name, nameSets(this.#byName.get(name.toLowerCase()) ?? []))]),
    );
  }

  /** One batch; Cloudflare answers with the records it saved, so what each router now serves needs no read-back. */
  async writeRouters(changes: readonly RouterChange[], options?: CallOptions): Promise<ServedRouters> {
    const signal = options?.signal;
    const unread = changes.map((c) => c.name).filter((name) => !this.#byName.has(name.toLowerCase()));
    if (unread.length > 0) await this.#read(unread, signal);
    const batch: Batch = { deletes: [], patches: [], posts: [] };
    for (const change of changes)
      planRouter(change, this.#byName.get(change.name.toLowerCase()) ?? [], batch);
    const results = await this.#batch(batch, signal);
    const served: ServedRouters = new Map();
    const names = [...new Set(changes.map((c) => c.name.toLowerCase()))];
    const after = afterBatch(batch, results, (name) => this.#byName.get(name) ?? [], names);
    for (const name of names) {
      const records = after?.get(name);
      if (records) this.#byName.set(name, records);
      else this.#byName.delete(name);
    }
    for (const c of changes) {
      const records = after?.get(c.name.toLowerCase());
      if (records) served.set(c.name, routerView(c.name, nameSets(records)));
    }
    return served;
  }

  /** Pages the last full listing of the zone took (undefined before the first). */
  get listingPages(): number | undefined {
    return this.#pages;
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
    this.#byName.clear();
  }

  /** Sends the batch in chunks of the plan's limit; resolves with each chunk's `result`. */
  async #batch(batch: Batch, signal?: AbortSignal): Promise<BatchResult[]> {
    const zoneId = await this.zoneId(signal);
    const limit = this.#options.batchLimit ?? 200;
    const ops = [
      ...batch.deletes.map((d) => ({ kind: "deletes" as const, op: d })),
      ...batch.patches.map((p) => ({ kind: "patches" as const, op: p })),
      ...batch.posts.map((p) => ({ kind: "posts" as const, op: p })),
    ];
    const results: BatchResult[] = [];
    for (let i = 0; i < ops.length; i += limit) {
      const chunk = ops.slice(i, i + limit);
      const body: Record<string, unknown[]> = {};
      for (const { kind, op } of chunk) body[kind] = [...(body[kind] ?? []), op];
      const what = `Cannot write ${chunk.length} record(s) in zone "${this.#options.zone}" on Cloudflare`;
      const answer = await this.#call("POST", `zones/${zoneId}/dns_records/batch`, what, body, signal);
      results.push((answer.result ?? {}) as BatchResult); // checked item by item in afterBatch()
    }
    return results;
  }

  /** Fills the cache for `names`: one filtered read each when that costs no more than the listing, else the listing. */
  async #read(names: readonly string[], signal?: AbortSignal): Promise<void> {
    const wanted = [...new Set(names.map((n) => n.toLowerCase()))];
    if (wanted.length > Math.max(1, this.#pages ?? 1)) {
      await this.#refresh(signal);
      return;
    }
    const zoneId = await this.zoneId(signal);
    for (const name of wanted) {
      const what = `Cannot read "${name}" in zone "${this.#options.zone}" on Cloudflare`;
      // `name` is Cloudflare's exact, case-insensitive match on the full name (as the recorded lists use it).
      const path = `zones/${zoneId}/dns_records?per_page=100&name=${encodeURIComponent(name)}`;
      const { records } = await this.#pagesOf(path, 100, what, signal);
      this.#byName.set(
        name,
        records.filter((r) => r.name.toLowerCase() === name),
      );
    }
  }

  async #refresh(signal?: AbortSignal): Promise<void> {
    const zoneId = await this.zoneId(signal);
    const perPage = this.#options.perPage ?? 5000;
    const what = `Cannot list the records of zone "${this.#options.zone}" on Cloudflare`;
    const path = `zones/${zoneId}/dns_records?per_page=${perPage}`;
    const { records, pages } = await this.#pagesOf(path, perPage, what, signal);
    const byName = new Map<string, CloudflareRecord[]>();
    for (const record of records) {
      const key = record.name.toLowerCase();
      byName.set(key, [...(byName.get(key) ?? []), record]);
    }
    this.#byName = byName;
    this.#pages = pages;
  }

  /** Every page of a record list (`path` carries the query); the page count Cloudflare states decides, not a short page. */
  async #pagesOf(
    path: string,
    perPage: number,
    what: string,
    signal?: AbortSignal,
  ): Promise<{ records: CloudflareRecord[]; pages: number }> {
    const out: CloudflareRecord[] = [];
    for (let page = 1; ; page++) {
      const answer = await this.#call(
        "GET",
        page > 1 ? `${path}&page=${page}` : path,
        what,
        undefined,
        signal,
      );
      const records = listOf(answer.result, what);
      out.push(...records);
      const total = (answer.result_info as { total_pages?: unknown } | undefined)?.total_pages; // list endpoints carry result_info
      if (typeof total === "number" ? page >= total : records.length < perPage)
        return { records: out, pages: page };
    }
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
    throw cloudflareFault(response, what, this.#options.clock);
  }
}
