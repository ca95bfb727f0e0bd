/**
 * A loopback stand-in of Cloudflare's API v4 DNS surface, built from Cloudflare's documentation:
 * the `{success, errors, messages, result}` envelope, Bearer tokens (9106/6003/9109), zone lookup by
 * name, record lists with `page`/`per_page`, CNAME clashes (81053/81054), TTL 1 or 60–86400 (a CNAME at
 * the apex is accepted, as Cloudflare flattens it; healthmesh writes A/AAAA there instead), the batch
 * endpoint (deletes → patches → puts → posts in one transaction, 200 records on Free plans), and
 * 1200 requests per 5 minutes per token, after which every call gets 429 for 5 minutes.
 */
import { type Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import {
  type Batch,
  CfFault,
  type CfRecord,
  commitBatch,
  findRecord,
  hex32,
  validation,
} from "./cloudflare-records.ts";
import { type CfZoneSettings, zoneSettingRoutes } from "./cloudflare-zone-settings.ts";
import {
  clockOf,
  type Fault,
  Hangs,
  RequestCounter,
  recordedAnswer,
  type ServedStandin,
  type StandinBase,
  serveStandin,
} from "./common.ts";

/** Options of the Cloudflare stand-in. */
export interface CloudflareStandinOptions extends StandinBase {
  /** API tokens that are valid. */
  tokens: string[];
  /** Valid account-owned tokens: they work on zones, but `GET /user/tokens/verify` answers 401 code 1000 for them, as the real API does. */
  accountTokens?: string[];
  /** Zones, with a fixed id and assigned nameservers when given. */
  zones: { name: string; id?: string; nameServers?: string[] }[];
  /** Requests per window per token (default 1200 per 5 min) and how long a breach blocks (default 5 min). */
  rateLimit?: { limit: number; windowMs: number; blockMs: number };
  /** Records per batch request (default 200, the Free plan). */
  batchLimit?: number;
}

const ok = (c: Context, result: unknown, extra: Record<string, unknown> = {}) =>
  c.json({ success: true, errors: [], messages: [], result, ...extra });
/** The stand-in's state and its knobs; `app` is the Hono app (call `serve()` or use `startCloudflareStandin`). */
export class CloudflareStandin {
  readonly app = new Hono().basePath("/client/v4");
  readonly requests = new RequestCounter();
  readonly zones = new Map<
    string,
    { id: string; name: string; records: Map<string, CfRecord> } & CfZoneSettings
  >();
  readonly tokens: Set<string>;
  /** Set to inject a fault into every following request. */
  fault: Fault = null;
  readonly hangs = new Hangs();
  readonly #options: CloudflareStandinOptions;
  readonly #used = new Map<string, { window: number[]; blockedUntil: number }>();

  constructor(options: CloudflareStandinOptions) {
    this.#options = options;
    this.tokens = new Set([...options.tokens, ...(options.accountTokens ?? [])]);
    for (const z of options.zones) {
      const id = z.id ?? hex32();
      const nameServers = z.nameServers ?? ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"];
      const dnssec = { status: "disabled", multiSigner: false, key: null, modifiedOn: this.#now() };
      this.zones.set(id, { id, name: z.name, records: new Map(), nameServers, multiProvider: false, dnssec });
    }
    this.#routes();
  }

  /** The records of a zone by name (tests edit them by hand to simulate drift). */
  records(zoneName: string): Map<string, CfRecord> {
    for (const zone of this.zones.values()) if (zone.name === zoneName) return zone.records;
    throw new Error(`No zone "${zoneName}" in the Cloudflare stand-in`);
  }

  /** Adds a record as if made in the dashboard; returns it. */
  seed(
    zoneName: string,
    record: { name: string; type: string; content: string; ttl?: number; proxied?: boolean },
  ): CfRecord {
    const now = new Date(clockOf(this.#options).now()).toISOString();
    const full: CfRecord = {
      id: hex32(),
      name: record.name,
      type: record.type,
      content: record.content,
      ttl: record.ttl ?? 1,
      proxied: record.proxied ?? false,
      proxiable: ["A", "AAAA", "CNAME"].includes(record.type),
      comment: null,
      tags: [],
      settings: {},
      meta: {},
      created_on: now,
      modified_on: now,
    };
    this.records(zoneName).set(full.id, full);
    return full;
  }

  #route(
    method: "get" | "post" | "patch" | "put" | "delete",
    path: string,
    handler: (c: Context) => Response | Promise<Response>,
  ): void {
    this.app.on(method.toUpperCase(), path, async (c) => {
      this.requests.hit(`${method.toUpperCase()} ${path}`);
      const recorded = recordedAnswer(this.fault);
      if (recorded) return recorded;
      try {
        await this.#gate(c);
        this.requests.fence(`${method.toUpperCase()} ${path}`, c.req.header("x-healthmesh-fence"));
        return await handler(c);
      } catch (error) {
        if (error instanceof CfFault) {
          return c.json(
            { success: false, errors: error.errors, messages: [], result: null },
            error.status as ContentfulStatusCode,
          ); // faults carry 4xx/5xx statuses
        }
        throw error;
      }
    });
  }

  async #gate(c: Context): Promise<void> {
    const fault = this.fault;
    if (fault && "hang" in fault) {
      await this.hangs.wait();
      throw new CfFault(504, [{ code: 10000, message: "Gateway timeout" }]);
    }
    if (fault)
      throw new CfFault(fault.status, [{ code: 10000 + fault.status, message: `Injected ${fault.status}` }]);
    const auth = c.req.header("authorization");
    if (!auth)
      throw new CfFault(400, [
        { code: 9106, message: "Missing X-Auth-Key, X-Auth-Email or Authorization headers" },
      ]);
    const match = /^Bearer ([A-Za-z0-9_-]+)$/.exec(auth);
    if (!match?.[1]) {
      throw new CfFault(400, [
        {
          code: 6003,
          message: "Invalid request headers",
          error_chain: [{ code: 6111, message: "Invalid format for Authorization header" }],
        },
      ]);
    }
    if (!this.tokens.has(match[1])) throw new CfFault(403, [{ code: 9109, message: "Invalid access token" }]);
    this.#throttle(c, match[1]);
  }

  #throttle(c: Context, token: string): void {
    const { limit, windowMs, blockMs } = this.#options.rateLimit ?? {
      limit: 1200,
      windowMs: 300_000,
      blockMs: 300_000,
    };
    const now = clockOf(this.#options).now();
    const used = this.#used.get(token) ?? { window: [], blockedUntil: 0 };
    used.window = used.window.filter((at) => at > now - windowMs);
    if (used.blockedUntil <= now && used.window.length >= limit) used.blockedUntil = now + blockMs;
    this.#used.set(token, used);
    if (used.blockedUntil > now) {
      c.header("retry-after", String(Math.ceil((used.blockedUntil - now) / 1000)));
      throw new CfFault(429, [
        {
          code: 10100,
          message: `More than ${limit} requests per ${windowMs / 1000} seconds reached. Please wait and consider throttling your request speed`,
        },
      ]);
    }
    used.window.push(now);
  }

  #zone(c: Context) {
    const id = c.req.param("zone") ?? "";
    const zone = this.zones.get(id);
    if (!zone) {
      throw new CfFault(400, [
        {
          code: 7003,
          message: `Could not route to /zones/${id}/dns_records, perhaps your object identifier is invalid?`,
        },
        { code: 7000, message: "No route for that URI" },
      ]);
    }
    return zone;
  }

  #routes(): void {
    this.#route("get", "/user/tokens/verify", (c) => {
      const token = /^Bearer (.+)$/.exec(c.req.header("authorization") ?? "")?.[1] ?? "";
      if (this.#options.accountTokens?.includes(token)) {
        // A user-token endpoint: an account-owned token is unknown to it (pl4nty/cloudflare-kubernetes-gateway#262).
        throw new CfFault(401, [{ code: 1000, message: "Invalid API Token" }]);
      }
      return c.json({
        success: true,
        errors: [],
        messages: [{ code: 10000, message: "This API Token is valid and active", type: null }],
        result: { id: hex32(), status: "active" },
      });
    });
    this.#route("get", "/zones", (c) => {
      const name = c.req.query("name");
      const zones = [...this.zones.values()].filter((z) => !name || z.name === name.toLowerCase());
      return this.#page(
        c,
        zones.map((z) => ({
          id: z.id,
          name: z.name,
          status: "active",
          paused: false,
          type: "full",
          name_servers: z.nameServers,
        })),
        20,
        50,
      );
    });
    this.#route("get", "/zones/:zone/dns_records", (c) => {
      const zone = this.#zone(c);
      const name = (c.req.query("name.exact") ?? c.req.query("name"))?.toLowerCase();
      const type = c.req.query("type");
      const records = [...zone.records.values()].filter(
        (r) => (!name || r.name === name) && (!type || r.type === type),
      );
      return this.#page(c, records, 100, 5_000_000);
    });
    this.#route("get", "/zones/:zone/dns_records/:id", (c) =>
      ok(c, findRecord(this.#zone(c).records, c.req.param("id"))),
    );
    this.#route("post", "/zones/:zone/dns_records", async (c) => {
      const zone = this.#zone(c);
      return ok(c, commitBatch(zone, { posts: [await c.req.json()] }, this.#now()).posts?.[0]);
    });
    for (const method of ["patch", "put"] as const) {
      this.#route(method, "/zones/:zone/dns_records/:id", async (c) => {
        const zone = this.#zone(c);
        const item = { ...(await c.req.json()), id: c.req.param("id") };
        const result =
          method === "patch"
            ? commitBatch(zone, { patches: [item] }, this.#now()).patches
            : commitBatch(zone, { puts: [item] }, this.#now()).puts;
        return ok(c, result?.[0]);
      });
    }
    this.#route("delete", "/zones/:zone/dns_records/:id", (c) => {
      const id = c.req.param("id") ?? "";
      commitBatch(this.#zone(c), { deletes: [{ id }] }, this.#now());
      return ok(c, { id });
    });
    zoneSettingRoutes(
      (method, path, handler) => this.#route(method, path, handler),
      (c) => this.#zone(c),
      () => this.#now(),
    );
    this.#route("post", "/zones/:zone/dns_records/batch", async (c) => {
      const zone = this.#zone(c);
      const body = (await c.req.json()) as Record<string, unknown>; // a JSON object; each list is checked below
      const size = ["deletes", "patches", "puts", "posts"].reduce(
        (n, k) => n + (Array.isArray(body[k]) ? (body[k] as unknown[]).length : 0), // isArray just checked
        0,
      );
      const limit = this.#options.batchLimit ?? 200;
      if (size > limit)
        throw validation(81070, `Batch size ${size} exceeds the zone plan's limit of ${limit} records`); // code UNCONFIRMED
      return ok(c, commitBatch(zone, body as Batch, this.#now())); // item shapes are checked one by one in commitBatch()
    });
  }

  #page(c: Context, items: unknown[], defaultPer: number, maxPer: number): Response {
    const page = Math.max(1, Number(c.req.query("page") ?? 1) || 1);
    const perPage = Math.min(
      maxPer,
      Math.max(1, Number(c.req.query("per_page") ?? defaultPer) || defaultPer),
    );
    const slice = items.slice((page - 1) * perPage, page * perPage);
    return ok(c, slice, {
      result_info: {
        page,
        per_page: perPage,
        count: slice.length,
        total_count: items.length,
        // An empty list still states one page (recorded from the real API: count 0, total_pages 1).
        total_pages: Math.max(1, Math.ceil(items.length / perPage)),
      },
    });
  }

  #now(): string {
    return new Date(clockOf(this.#options).now()).toISOString();
  }
}

/** A served Cloudflare stand-in: `apiBase` is what the client's config takes. */
export interface RunningCloudflareStandin extends ServedStandin {
  standin: CloudflareStandin;
  apiBase: string;
}

/** Starts the Cloudflare stand-in on 127.0.0.1 with an ephemeral port. */
export async function startCloudflareStandin(
  options: CloudflareStandinOptions,
): Promise<RunningCloudflareStandin> {
  const standin = new CloudflareStandin(options);
  const served = await serveStandin(standin.app, () => standin.hangs.release());
  return { ...served, standin, apiBase: `${served.url}/client/v4` };
}
