/**
 * deSEC API v1 client behind the DNS ports. deSEC speaks subnames, wants a trailing slash on every URL
 * and a trailing dot on CNAME targets, paginates lists with `?cursor=` and a Link header, and throttles
 * writes per domain, so every write is one bulk PATCH of the domain's rrsets.
 */

import { describeDesecError, nextLink, refusedItems, toPresentation } from "./desec-answers.ts";
import { DESEC_BUDGET, DesecPacer, driftPeriodMs, MIN_DRIFT_MS } from "./desec-budget.ts";
import { ServerError, ValidationError } from "./errors.ts";
import {
  type ApiClientOptions,
  type ApiResponse,
  joinUrl,
  retryAfterOf,
  send,
  summariseBody,
  toDnsError,
} from "./http.ts";
import {
  addressFamilies,
  type CallOptions,
  canonicalValue,
  type DnsProvider,
  type RouterChange,
  type RouterRecord,
  routerType,
  routerView,
  type ServedRouters,
  type ZoneProvider,
  type ZoneRecord,
} from "./provider.ts";
import type { BudgetWindow } from "./request-budget.ts";

export { describeDesecError, nextLink } from "./desec-answers.ts";

/** An RRset as deSEC returns it (the fields we use). */
export interface DesecRrset {
  subname: string;
  type: string;
  records: string[];
  ttl: number;
}

/** What `GET /domains/{name}/` tells us. */
export interface DesecDomain {
  name: string;
  minimum_ttl: number;
}

/** Options of the deSEC client. */
export interface DesecOptions extends ApiClientOptions {
  /** The domain (zone) name, e.g. `example.com`. */
  domain: string;
  /** The throttle windows the client paces itself within (needs `clock`); default deSEC's, `false` for none. */
  budget?: readonly BudgetWindow[] | false;
}

/** The deSEC DNS provider. */
export class DesecDnsProvider implements DnsProvider, ZoneProvider {
  readonly name = "desec";
  readonly #options: DesecOptions;
  readonly #pacer: DesecPacer | null;
  /** Pages the last full listing took: reading more names than this one by one would cost more than listing. */
  #pages: number | undefined;

  constructor(options: DesecOptions) {
    this.#options = options;
    const windows = options.budget === false ? null : (options.budget ?? DESEC_BUDGET);
    this.#pacer = windows && options.clock ? new DesecPacer(windows, options.clock) : null;
  }

  /** Drift reads spread the zone's listings over the day within their share of the daily budget (at least every 5 min). */
  get driftCheckMs(): number {
    return this.#pacer ? driftPeriodMs(this.#pages ?? 1, this.#pacer.budget.windows) : MIN_DRIFT_MS;
  }

  /** Pages the last full listing of the domain took (undefined before the first). */
  get listingPages(): number | undefined {
    return this.#pages;
  }

  /** Reads the domain, which checks the token and gives the domain's `minimum_ttl`. */
  async domain(): Promise<DesecDomain> {
    const d = this.#options.domain;
    const response = await this.#call("GET", `domains/${d}/`, { what: `Cannot read domain "${d}" on deSEC` });
    const body = response.body as Partial<DesecDomain>; // deSEC's domain object
    if (typeof body?.minimum_ttl !== "number") {
      throw new ValidationError("desec", `Cannot read domain "${d}" on deSEC: the answer has no minimum_ttl`);
    }
    return { name: String(body.name ?? d), minimum_ttl: body.minimum_ttl };
  }

  /** How long until reading `count` routers fits deSEC's read budget (0: now; a drift check leaves room for switches). */
  readDelay(count: number, options?: { background?: boolean }): number {
    if (!this.#pacer) return 0;
    const request = { read: true, background: options?.background === true };
    return this.#pacer.budget.delay(request, this.#readCost(count), 2000);
  }

  /** A few names: one `?subname=` read each (every type at the name, so a conflict shows); many: the paged listing. */
  async readRouters(
    names: readonly string[],
    options?: CallOptions,
  ): Promise<Map<string, RouterRecord | null>> {
    const subnames = [...new Set(names.map((name) => this.#subname(name)))];
    const rrsets =
      subnames.length <= this.#filterLimit()
        ? await this.#readSubnames(subnames, options)
        : await this.#list(options);
    const bySubname = new Map<string, DesecRrset[]>();
    for (const r of rrsets) bySubname.set(r.subname, [...(bySubname.get(r.subname) ?? []), r]);
    return new Map(names.map((name) => [name, this.#view(name, bySubname)]));
  }

  /**
   * One bulk PATCH: a CNAME router is one RRset; an address router is its A and AAAA RRsets (`records: []`
   * deletes one). deSEC answers with the RRsets the write left (deleted ones omitted): that is what each
   * router now serves, so no read-back is needed.
   */
  async writeRouters(changes: readonly RouterChange[], options?: CallOptions): Promise<ServedRouters> {
    const body: DesecRrset[] = [];
    const owners: number[] = [];
    changes.forEach((c, i) => {
      const subname = this.#subname(c.name);
      if (routerType(c.target) === "CNAME") {
        body.push({
          subname,
          type: "CNAME",
          ttl: c.ttl,
          records: [c.target.endsWith(".") ? c.target : `${c.target}.`],
        });
        owners.push(i);
        return;
      }
      const families = addressFamilies(c.target);
      for (const type of ["A", "AAAA"] as const) {
        body.push({ subname, type, ttl: c.ttl, records: families[type] });
        owners.push(i);
      }
    });
    const what = `Cannot switch ${changes.length} router(s) on deSEC`;
    const answer = await this.#bulkPatch(body, what, options?.signal, owners);
    if (!answer || !Array.isArray(answer.body)) return new Map();
    const bySubname = new Map<string, DesecRrset[]>();
    for (const r of answer.body as DesecRrset[]) // bulk PATCH answers the list of RRsets it left
      bySubname.set(r.subname, [...(bySubname.get(r.subname) ?? []), r]);
    return new Map(changes.map((c) => [c.name, this.#view(c.name, bySubname)]));
  }

  async listRecords(): Promise<ZoneRecord[]> {
    const rrsets = await this.#list();
    return rrsets.map((r) => ({
      name: r.subname ? `${r.subname}.${this.#options.domain}` : this.#options.domain,
      type: r.type,
      values: r.records.map((v) => canonicalValue(r.type, v)),
      ttl: r.ttl,
    }));
  }

  async applyRecords(sets: readonly ZoneRecord[]): Promise<void> {
    const body = sets.map((s) => ({
      subname: this.#subname(s.name),
      type: s.type,
      ttl: s.ttl,
      records: s.values.map((v) => toPresentation(s.type, v)),
    }));
    await this.#bulkPatch(
      body,
      `Cannot write ${sets.length} RRset(s) in domain "${this.#options.domain}" on deSEC`,
    );
  }

  #view(name: string, bySubname: Map<string, DesecRrset[]>): RouterRecord | null {
    const here = bySubname.get(this.#subname(name)) ?? [];
    return routerView(
      name,
      here.map((r) => ({ type: r.type, values: r.records, ttl: r.ttl })),
    );
  }

  /** The most names read one by one: never more requests than the last listing took (1 before any). */
  #filterLimit(): number {
    return Math.max(1, this.#pages ?? 1);
  }

  #readCost(count: number): number {
    return count <= this.#filterLimit() ? count : (this.#pages ?? 1);
  }

  /** `owners[i]` is the caller's item that body item i belongs to: refused positions are reported in the caller's terms. */
  async #bulkPatch(
    body: DesecRrset[],
    what: string,
    signal?: AbortSignal,
    owners?: number[],
  ): Promise<ApiResponse | null> {
    if (body.length === 0) return null;
    return this.#call("PATCH", `domains/${this.#options.domain}/rrsets/`, { what, body, signal, owners });
  }

  /** One `GET …/rrsets/?subname=` per name, as deSEC documents the filter (an empty list when nothing is there). */
  async #readSubnames(subnames: readonly string[], options?: CallOptions): Promise<DesecRrset[]> {
    const d = this.#options.domain;
    const what = `Cannot read ${subnames.length} router name(s) in domain "${d}" on deSEC`;
    const background = options?.background === true;
    this.#pacer?.check({ read: true, background }, subnames.length, what);
    const out: DesecRrset[] = [];
    for (const subname of subnames) {
      const path = `domains/${d}/rrsets/?subname=${encodeURIComponent(subname)}`;
      const response = await this.#call("GET", path, { what, signal: options?.signal, background });
      out.push(...this.#rrsetsOf(response, what).filter((r) => r.subname === subname));
    }
    return out;
  }

  async #list(options?: CallOptions): Promise<DesecRrset[]> {
    const what = `Cannot list the RRsets of domain "${this.#options.domain}" on deSEC`;
    const background = options?.background === true;
    this.#pacer?.check({ read: true, background }, this.#pages ?? 1, what);
    const out: DesecRrset[] = [];
    let pages = 0;
    let url: string | null = joinUrl(
      this.#options.apiBase,
      `domains/${this.#options.domain}/rrsets/?cursor=`,
    );
    while (url) {
      const response = await this.#call("GET", url, { what, signal: options?.signal, background });
      pages++;
      out.push(...this.#rrsetsOf(response, what));
      url = nextLink(response.headers.get("link"));
    }
    this.#pages = pages;
    return out;
  }

  /** A list answer's RRsets; a success answer without the list is an error, never an empty zone (plan would recreate everything). */
  #rrsetsOf(response: ApiResponse, what: string): DesecRrset[] {
    if (Array.isArray(response.body)) return response.body as DesecRrset[]; // list endpoint: RRsets
    const text = typeof response.body === "string" ? response.body : JSON.stringify(response.body);
    throw new ServerError(
      "desec",
      `${what}: the success answer is not a list of RRsets (${summariseBody(response.status, text)}); nothing is assumed about the domain`,
      { status: response.status },
    );
  }

  #subname(name: string): string {
    const fqdn = name.toLowerCase().replace(/\.$/, "");
    const domain = this.#options.domain;
    if (fqdn === domain) return "";
    return fqdn.endsWith(`.${domain}`) ? fqdn.slice(0, -domain.length - 1) : fqdn;
  }

  async #call(
    method: string,
    pathOrUrl: string,
    request: {
      what: string;
      body?: unknown;
      signal?: AbortSignal | undefined;
      /** `owners[i]`: the caller's item that body item i belongs to. */
      owners?: number[] | undefined;
      background?: boolean;
    },
  ): Promise<ApiResponse> {
    const { what, body, signal, owners, background = false } = request;
    const url = /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : joinUrl(this.#options.apiBase, pathOrUrl);
    const answered = await this.#pacer?.admit({ read: method === "GET", background }, what, signal);
    let response: ApiResponse;
    try {
      response = await send("desec", this.#options, {
        url,
        method,
        headers: { authorization: `Token ${this.#options.token}` },
        ...(body !== undefined ? { body } : {}),
        signal,
      });
    } finally {
      answered?.();
    }
    if (response.status < 300) return response;
    const message = describeDesecError(response.body, Array.isArray(body) ? body : [], response.status);
    const retryAfterMs = retryAfterOf(response, this.#options.clock);
    const positions = refusedItems(response.body);
    const items = [...new Set(owners ? positions.map((i) => owners[i] ?? i) : positions)];
    throw toDnsError("desec", what, {
      status: response.status,
      message,
      ...(/conflicting type/i.test(message) ? { kind: "conflict" as const } : {}),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      ...(items.length > 0 ? { items } : {}),
    });
  }
}
