/**
 * PowerDNS Authoritative HTTP API client behind the DNS ports: `X-API-Key`, canonical names with
 * trailing dots, and every write as one `PATCH` of the zone with `changetype: REPLACE` RRsets.
 */
import { ValidationError } from "./errors.ts";
import {
  type ApiClientOptions,
  type ApiResponse,
  joinUrl,
  retryAfterOf,
  send,
  summariseBody,
  toDnsError,
  withDot,
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

/** An RRset as PowerDNS returns it. */
interface PdnsRrset {
  name: string;
  type: string;
  ttl: number;
  records: { content: string; disabled: boolean }[];
}

/** One RRset of a PATCH: REPLACE carries ttl and records, DELETE only the name and type. */
type PdnsChange = {
  name: string;
  type: string;
  changetype: "REPLACE" | "DELETE";
  ttl?: number;
  records?: { content: string; disabled: boolean }[];
};

/** Options of the PowerDNS client; `token` is the API key. */
export interface PowerDnsOptions extends ApiClientOptions {
  /** The zone name, e.g. `example.com`. */
  zone: string;
  /** The server id in the API path (`localhost` on a standalone server). */
  server?: string;
}

/** The PowerDNS provider. */
export class PowerDnsProvider implements DnsProvider, ZoneProvider {
  readonly name = "powerdns";
  readonly #options: PowerDnsOptions;

  constructor(options: PowerDnsOptions) {
    this.#options = options;
  }

  async readRouters(
    names: readonly string[],
    options?: CallOptions,
  ): Promise<Map<string, RouterRecord | null>> {
    const rrsets = await this.#rrsets(options?.signal);
    return new Map(
      names.map((name) => {
        const here = rrsets.filter((r) => r.name.toLowerCase() === withDot(name).toLowerCase());
        const sets = here.map((r) => ({
          type: r.type,
          values: r.records.filter((v) => !v.disabled).map((v) => v.content),
          ttl: r.ttl,
        }));
        return [name, routerView(name, sets)];
      }),
    );
  }

  /** One PATCH: a CNAME router is one REPLACE; an address router REPLACEs or DELETEs its A and AAAA RRsets. */
  async writeRouters(changes: readonly RouterChange[], options?: CallOptions): Promise<void> {
    const rrsets = changes.flatMap((c): PdnsChange[] => {
      const name = withDot(c.name);
      if (routerType(c.target) === "CNAME") {
        return [
          {
            name,
            type: "CNAME",
            ttl: c.ttl,
            changetype: "REPLACE" as const,
            records: [{ content: withDot(c.target), disabled: false }],
          },
        ];
      }
      const families = addressFamilies(c.target);
      return (["A", "AAAA"] as const).map((type) =>
        families[type].length > 0
          ? {
              name,
              type,
              ttl: c.ttl,
              changetype: "REPLACE",
              records: families[type].map((content) => ({ content, disabled: false })),
            }
          : { name, type, changetype: "DELETE" },
      );
    });
    await this.#patch(rrsets, `Cannot switch ${changes.length} router(s) on PowerDNS`, options?.signal);
  }

  async listRecords(): Promise<ZoneRecord[]> {
    const rrsets = await this.#rrsets();
    return rrsets
      .filter((r) => r.records.length > 0)
      .map((r) => ({
        name: r.name.toLowerCase().replace(/\.$/, ""),
        type: r.type,
        values: r.records.map((v) => canonicalValue(r.type, v.content)),
        ttl: r.ttl,
      }));
  }

  async applyRecords(sets: readonly ZoneRecord[]): Promise<void> {
    await this.#patch(
      sets.map((s) => ({
        name: withDot(s.name),
        type: s.type,
        ttl: s.ttl,
        changetype: "REPLACE",
        records: s.values.map((v) => ({
          content: s.type === "TXT" ? `"${v.replace(/"/g, '\\"')}"` : s.type === "CNAME" ? withDot(v) : v,
          disabled: false,
        })),
      })),
      `Cannot write ${sets.length} RRset(s) in zone "${this.#options.zone}" on PowerDNS`,
    );
  }

  #zonePath(): string {
    return `servers/${encodeURIComponent(this.#options.server ?? "localhost")}/zones/${withDot(this.#options.zone)}`;
  }

  async #rrsets(signal?: AbortSignal): Promise<PdnsRrset[]> {
    const response = await this.#call(
      "GET",
      this.#zonePath(),
      `Cannot read zone "${this.#options.zone}" on PowerDNS`,
      undefined,
      signal,
    );
    const rrsets = (response.body as { rrsets?: unknown } | null)?.rrsets; // PowerDNS zone object
    if (!Array.isArray(rrsets)) {
      throw new ValidationError(
        "powerdns",
        `Cannot read zone "${this.#options.zone}" on PowerDNS: no rrsets in the answer`,
      );
    }
    return rrsets as PdnsRrset[]; // PowerDNS's documented RRset shape
  }

  async #patch(rrsets: unknown[], what: string, signal?: AbortSignal): Promise<void> {
    if (rrsets.length === 0) return;
    await this.#call("PATCH", this.#zonePath(), what, { rrsets }, signal);
  }

  async #call(
    method: string,
    path: string,
    what: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<ApiResponse> {
    const response = await send("powerdns", this.#options, {
      url: joinUrl(this.#options.apiBase, path),
      method,
      headers: { "x-api-key": this.#options.token },
      ...(body !== undefined ? { body } : {}),
      signal,
    });
    if (response.status < 300) return response;
    const error = (response.body as { error?: unknown } | null)?.error; // PowerDNS answers {"error": "..."}
    const message = typeof error === "string" ? error : summariseBody(response.status, response.body);
    const retryAfterMs = retryAfterOf(response, this.#options.clock);
    throw toDnsError("powerdns", what, {
      status: response.status,
      message,
      ...(/conflicts with/i.test(message) ? { kind: "conflict" as const } : {}),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    });
  }
}
