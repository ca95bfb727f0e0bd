/**
 * deSEC API v1 client behind the DNS ports. deSEC speaks subnames, wants a trailing slash on every URL
 * and a trailing dot on CNAME targets, paginates lists with `?cursor=` and a Link header, and throttles
 * writes per domain, so every write is one bulk PATCH of the domain's rrsets.
 */
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
  type ZoneProvider,
  type ZoneRecord,
} from "./provider.ts";

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
}

/** The deSEC DNS provider. */
export class DesecDnsProvider implements DnsProvider, ZoneProvider {
  readonly name = "desec";
  /** deSEC allows 2000 requests a day per account: a drift read every 5 min uses 288 of them. */
  readonly driftCheckMs = 300_000;
  readonly #options: DesecOptions;

  constructor(options: DesecOptions) {
    this.#options = options;
  }

  /** Reads the domain, which checks the token and gives the domain's `minimum_ttl`. */
  async domain(): Promise<DesecDomain> {
    const d = this.#options.domain;
    const response = await this.#call("GET", `domains/${d}/`, `Cannot read domain "${d}" on deSEC`);
    const body = response.body as Partial<DesecDomain>; // deSEC's domain object
    if (typeof body?.minimum_ttl !== "number") {
      throw new ValidationError("desec", `Cannot read domain "${d}" on deSEC: the answer has no minimum_ttl`);
    }
    return { name: String(body.name ?? d), minimum_ttl: body.minimum_ttl };
  }

  async readRouters(
    names: readonly string[],
    options?: CallOptions,
  ): Promise<Map<string, RouterRecord | null>> {
    const rrsets = await this.#list(options?.signal);
    return new Map(
      names.map((name) => {
        const here = rrsets.filter((r) => r.subname === this.#subname(name));
        return [
          name,
          routerView(
            name,
            here.map((r) => ({ type: r.type, values: r.records, ttl: r.ttl })),
          ),
        ];
      }),
    );
  }

  /** One bulk PATCH: a CNAME router is one RRset; an address router is its A and AAAA RRsets (`records: []` deletes one). */
  async writeRouters(changes: readonly RouterChange[], options?: CallOptions): Promise<void> {
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
    await this.#bulkPatch(
      body,
      `Cannot switch ${changes.length} router(s) on deSEC`,
      options?.signal,
      owners,
    );
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

  /** `owners[i]` is the caller's item that body item i belongs to: refused positions are reported in the caller's terms. */
  async #bulkPatch(body: DesecRrset[], what: string, signal?: AbortSignal, owners?: number[]): Promise<void> {
    if (body.length === 0) return;
    await this.#call("PATCH", `domains/${this.#options.domain}/rrsets/`, what, body, signal, owners);
  }

  async #list(signal?: AbortSignal): Promise<DesecRrset[]> {
    const what = `Cannot list the RRsets of domain "${this.#options.domain}" on deSEC`;
    const out: DesecRrset[] = [];
    let url: string | null = joinUrl(
      this.#options.apiBase,
      `domains/${this.#options.domain}/rrsets/?cursor=`,
    );
    while (url) {
      const response = await this.#call("GET", url, what, undefined, signal);
      if (!Array.isArray(response.body)) {
        // A success answer without the list is an error, never an empty zone (plan would recreate everything).
        throw new ServerError(
          "desec",
          `${what}: the success answer is not a list of RRsets (${summariseBody(response.status, typeof response.body === "string" ? response.body : JSON.stringify(response.body))}); nothing is assumed about the domain`,
          { status: response.status },
        );
      }
      out.push(...(response.body as DesecRrset[])); // list endpoint: RRsets
      url = nextLink(response.headers.get("link"));
    }
    return out;
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
    what: string,
    body?: unknown,
    signal?: AbortSignal,
    owners?: number[],
  ): Promise<ApiResponse> {
    const url = /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : joinUrl(this.#options.apiBase, pathOrUrl);
    const response = await send("desec", this.#options, {
      url,
      method,
      headers: { authorization: `Token ${this.#options.token}` },
      ...(body !== undefined ? { body } : {}),
      signal,
    });
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

/** The URL of the `rel="next"` link of a Link header, if any. */
export function nextLink(header: string | null): string | null {
  if (!header) return null;
  for (const part of header.split(",")) {
    const match = /<([^>]*)>\s*;\s*rel="?next"?/.exec(part);
    if (match?.[1]) return match[1];
  }
  return null;
}

/** The positions a bulk error list names (deSEC answers `{}` for the items it had nothing against). */
function refusedItems(body: unknown): number[] {
  if (!Array.isArray(body)) return [];
  return body.flatMap((entry, i) =>
    entry && typeof entry === "object" && Object.keys(entry).length > 0 ? [i] : [],
  );
}

/** deSEC's error bodies (`{detail}`, a field map, or a list aligned with a bulk request) as one line; an HTML page is summarised. */
export function describeDesecError(body: unknown, items: readonly unknown[], status = 0): string {
  const fields = (value: unknown): string =>
    value && typeof value === "object"
      ? Object.entries(value)
          .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(" ") : String(v)}`)
          .join("; ")
      : String(value);
  if (Array.isArray(body)) {
    return body
      .map((entry, i) => {
        if (!entry || typeof entry !== "object" || Object.keys(entry).length === 0) return null;
        const item = items[i] as { subname?: unknown; type?: unknown } | undefined; // the request item at that position
        const label = item ? `"${String(item.subname)}" ${String(item.type)}` : `item ${i}`;
        return `${label}: ${fields(entry)}`;
      })
      .filter((line) => line !== null)
      .join("; ");
  }
  if (body && typeof body === "object") {
    const detail = (body as { detail?: unknown }).detail; // DRF's {"detail": ...}
    return typeof detail === "string" ? detail : fields(body);
  }
  return summariseBody(status, body);
}

function toPresentation(type: string, value: string): string {
  if (type === "TXT") return `"${value.replace(/"/g, '\\"')}"`;
  if (type === "CNAME" || type === "NS") return value.endsWith(".") ? value : `${value}.`;
  return value;
}
