/**
 * A loopback stand-in of deSEC's API v1 (domains and rrsets), built from deSEC's documentation:
 * `Authorization: Token`, DRF error bodies (`{"detail"}`, field maps, lists aligned with bulk requests),
 * mandatory trailing slashes, cursor pagination over 500 RRsets with a Link header, CNAME exclusivity,
 * TTL >= the domain's `minimum_ttl`, atomic bulk PATCH/PUT, the apex rules (no CNAME at the apex, deSEC's
 * own NS RRset always there), and the throttles: RRset writes per domain
 * 2/s 15/min 100/h 300/day, reads 10/s 50/min, answered with 429 and `Retry-After`.
 */
import { type Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import {
  clockOf,
  type Fault,
  Hangs,
  type RateWindow,
  RequestCounter,
  recordedAnswer,
  type ServedStandin,
  SlidingLimiter,
  type StandinBase,
  serveStandin,
} from "./common.ts";
import { checkBulk, type Rrset } from "./desec-rrsets.ts";
import { dsOf, makeKey, type StandinKey } from "./dnssec-keys.ts";

/** Options of the deSEC stand-in. */
export interface DesecStandinOptions extends StandinBase {
  tokens: string[];
  /** Domains and their `minimum_ttl` (default 3600, deSEC's production default). */
  domains: { name: string; minimumTtl?: number }[];
  /** Throttle windows; defaults are deSEC's documented rates (`user`: every request of the account, 2000 a day). */
  limits?: { write?: RateWindow[]; read?: RateWindow[]; user?: RateWindow[] };
  /** RRsets per page (deSEC: 500). */
  pageSize?: number;
  /** deSEC's nginx limit in front of the API (production: 30 requests/s per IP); beyond it nginx answers its HTML 429 page, without Retry-After. Off unless set. */
  nginxRate?: RateWindow;
}

/** The NS RRset deSEC puts at the apex of every domain. */
export const DESEC_NS = ["ns1.desec.io.", "ns2.desec.org."] as const;

/** deSEC's nginx 429 page (desec-stack www/html/429.html), as its front end sends it: HTML, no Retry-After. */
export const DESEC_NGINX_429 = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="robots" content="noindex">
<title>429 Too Many Requests</title>
</head>
<body style="background-color: white">
<div style="text-align: center;"><h1>429 Too Many Requests</h1></div>
<hr>
<div style="text-align: center;">nginx</div>
</body>
</html>
`;

const SECOND = 1000;
const DEFAULT_WRITE: RateWindow[] = [
  { limit: 2, windowMs: SECOND },
  { limit: 15, windowMs: 60 * SECOND },
  { limit: 100, windowMs: 3600 * SECOND },
  { limit: 300, windowMs: 86_400 * SECOND },
];
const DEFAULT_READ: RateWindow[] = [
  { limit: 10, windowMs: SECOND },
  { limit: 50, windowMs: 60 * SECOND },
];
const DEFAULT_USER: RateWindow[] = [{ limit: 2000, windowMs: 86_400 * SECOND }];

class DrfFault extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(`deSEC ${status}`);
  }
}

/** A stored domain. */
export interface DesecDomainState {
  name: string;
  minimumTtl: number;
  /** deSEC signs every domain: one CSK, published as `keys[]` on the domain object and served as DNSKEY. */
  key: StandinKey;
  rrsets: Map<string, Rrset>;
  created: string;
}

const key = (subname: string, type: string) => `${subname}/${type}`;
const AUTOMATIC_TYPES = new Set(["NSEC", "NSEC3", "NSEC3PARAM", "OPT", "RRSIG", "SOA", "KEY"]);

/** The stand-in's state and its knobs. */
export class DesecStandin {
  readonly app = new Hono().basePath("/api/v1");
  readonly requests = new RequestCounter();
  readonly domains = new Map<string, DesecDomainState>();
  readonly tokens: Set<string>;
  fault: Fault = null;
  readonly hangs = new Hangs();
  readonly #options: DesecStandinOptions;
  readonly #write: SlidingLimiter;
  readonly #read: SlidingLimiter;
  readonly #user: SlidingLimiter;
  readonly #nginx: SlidingLimiter | null;
  #seq = 0;

  constructor(options: DesecStandinOptions) {
    this.#options = options;
    this.tokens = new Set(options.tokens);
    this.#write = new SlidingLimiter(options.limits?.write ?? DEFAULT_WRITE);
    this.#read = new SlidingLimiter(options.limits?.read ?? DEFAULT_READ);
    this.#user = new SlidingLimiter(options.limits?.user ?? DEFAULT_USER);
    this.#nginx = options.nginxRate ? new SlidingLimiter([options.nginxRate]) : null;
    const now = new Date(clockOf(options).now()).toISOString();
    for (const d of options.domains) {
      const domain: DesecDomainState = {
        name: d.name,
        minimumTtl: d.minimumTtl ?? 3600,
        key: makeKey(),
        rrsets: new Map(),
        created: now,
      };
      this.domains.set(d.name, domain);
      // deSEC creates every domain with its own NS RRset at the apex (ns1.desec.io., ns2.desec.org.).
      this.#store(domain, { subname: "", type: "NS", ttl: 3600, records: [...DESEC_NS] });
    }
    this.#routes();
  }

  /** The RRsets of a domain, keyed `subname/TYPE` (tests edit them by hand to simulate drift). */
  rrsets(domain: string): Map<string, Rrset> {
    const d = this.domains.get(domain);
    if (!d) throw new Error(`No domain "${domain}" in the deSEC stand-in`);
    return d.rrsets;
  }

  /** Adds an RRset as if made in the web interface. */
  seed(domain: string, rrset: { subname: string; type: string; records: string[]; ttl?: number }): void {
    this.#store(this.#domainState(domain), { ...rrset, ttl: rrset.ttl ?? 3600 });
  }

  #domainState(name: string): DesecDomainState {
    const d = this.domains.get(name);
    // The body the real API answered for a domain the account does not hold (recorded by dns-lexicon, 2025-10).
    if (!d) throw new DrfFault(404, { detail: "No Domain matches the given query." });
    return d;
  }

  #store(
    domain: DesecDomainState,
    item: { subname: string; type: string; records: string[]; ttl: number },
  ): Rrset {
    const now = new Date(clockOf(this.#options).now()).toISOString();
    const old = domain.rrsets.get(key(item.subname, item.type));
    const rrset: Rrset = {
      created: old?.created ?? now,
      domain: domain.name,
      subname: item.subname,
      name: `${item.subname ? `${item.subname}.` : ""}${domain.name}.`,
      type: item.type,
      records: item.records,
      ttl: item.ttl,
      touched: now,
      seq: old?.seq ?? this.#seq++,
    };
    domain.rrsets.set(key(item.subname, item.type), rrset);
    return rrset;
  }

  #route(method: string, path: string, handler: (c: Context) => Response | Promise<Response>): void {
    this.app.on(method, path, async (c) => {
      this.requests.hit(`${method} ${path}`);
      const recorded = recordedAnswer(this.fault);
      if (recorded) return recorded;
      if (this.#nginx && this.#nginx.take("ip", clockOf(this.#options).now()) !== null) {
        return new Response(DESEC_NGINX_429, { status: 429, headers: { "content-type": "text/html" } });
      }
      try {
        await this.#gate(c, method);
        this.requests.fence(`${method} ${path}`, c.req.header("x-healthmesh-fence"));
        return await handler(c);
      } catch (error) {
        if (!(error instanceof DrfFault)) throw error;
        for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
        return c.json(error.body, error.status as ContentfulStatusCode); // faults carry 4xx/5xx statuses
      }
    });
  }

  async #gate(c: Context, method: string): Promise<void> {
    const fault = this.fault;
    if (fault && "hang" in fault) {
      await this.hangs.wait();
      throw new DrfFault(504, { detail: "Gateway timeout" });
    }
    if (fault) throw new DrfFault(fault.status, { detail: "Internal Server Error. We're on it!" });
    const auth = c.req.header("authorization");
    if (!auth) {
      throw new DrfFault(
        401,
        { detail: "Authentication credentials were not provided." },
        { "www-authenticate": "Token" },
      );
    }
    const token = /^Token (\S+)$/.exec(auth)?.[1];
    if (!token || !this.tokens.has(token)) {
      throw new DrfFault(401, { detail: "Invalid token." }, { "www-authenticate": "Token" });
    }
    const now = clockOf(this.#options).now();
    const domain = c.req.param("name");
    const writes = method !== "GET" && c.req.path.includes("/rrsets/");
    // DRF asks every throttle (the scoped one, then the per-user daily one); each records what it admits.
    const scoped = writes ? this.#write.take(`${token}|${domain}`, now) : this.#read.take(token, now);
    const daily = this.#user.take(token, now);
    const wait = scoped === null && daily === null ? null : Math.max(scoped ?? 0, daily ?? 0);
    if (wait !== null) {
      const seconds = Math.max(1, Math.ceil(wait / SECOND));
      throw new DrfFault(
        429,
        {
          detail: `Request was throttled. Expected available in ${seconds} second${seconds === 1 ? "" : "s"}.`,
        },
        { "retry-after": String(seconds) },
      );
    }
  }

  #routes(): void {
    this.#route("GET", "/domains/", (c) =>
      c.json([...this.domains.values()].map((d) => this.#domainJson(d))),
    );
    this.#route("GET", "/domains/:name/", async (c) => {
      const domain = this.#domainState(c.req.param("name") ?? "");
      const ds = await dsOf(domain.name, domain.key);
      const keys = [{ dnskey: domain.key.text, ds, flags: 257, keytype: "csk", managed: true }];
      return c.json(this.#domainJson(domain, keys));
    });
    this.#route("GET", "/domains/:name/rrsets/", (c) => this.#list(c));
    for (const method of ["PATCH", "PUT", "POST"]) {
      this.#route(method, "/domains/:name/rrsets/", async (c) => {
        const domain = this.#domainState(c.req.param("name") ?? "");
        const body: unknown = await c.req.json();
        if (method === "POST" && !Array.isArray(body)) {
          return c.json(this.#bulk(domain, [body], { method, bulk: false })[0], 201);
        }
        if (!Array.isArray(body))
          throw new DrfFault(400, { non_field_errors: ["Expected a list of items but got dict."] });
        return c.json(this.#bulk(domain, body, { method, bulk: true }), method === "POST" ? 201 : 200);
      });
    }
    this.#route("GET", "/domains/:name/rrsets/:subname/:type/", (c) => {
      const domain = this.#domainState(c.req.param("name") ?? "");
      const rrset = domain.rrsets.get(key(subnameOf(c), c.req.param("type") ?? ""));
      if (!rrset) throw new DrfFault(404, { detail: "Not found." });
      return c.json(publicRrset(rrset));
    });
    for (const method of ["PATCH", "PUT"]) {
      this.#route(method, "/domains/:name/rrsets/:subname/:type/", async (c) => {
        const domain = this.#domainState(c.req.param("name") ?? "");
        const body = (await c.req.json()) as Record<string, unknown>; // fields are validated by checkBulk
        const item = { ...body, subname: subnameOf(c), type: c.req.param("type") };
        const [saved] = this.#bulk(domain, [item], { method: "PATCH", bulk: false });
        return saved ? c.json(saved) : c.body(null, 204);
      });
    }
    this.#route("DELETE", "/domains/:name/rrsets/:subname/:type/", (c) => {
      const domain = this.#domainState(c.req.param("name") ?? "");
      domain.rrsets.delete(key(subnameOf(c), c.req.param("type") ?? ""));
      return c.body(null, 204);
    });
    // deSEC's URLs end with a slash; Django answers a slashless URL with a redirect.
    this.app.all("*", (c) => {
      this.requests.hit(`${c.req.method} (unrouted)`);
      if (!c.req.path.endsWith("/")) return c.redirect(`${c.req.path}/`, 301);
      return c.json({ detail: "Not found." }, 404);
    });
  }

  #domainJson(d: DesecDomainState, keys?: unknown[]) {
    const touched = [d.created, ...[...d.rrsets.values()].map((r) => r.touched)].sort().at(-1) ?? d.created;
    return {
      created: d.created,
      ...(keys ? { keys } : {}),
      minimum_ttl: d.minimumTtl,
      name: d.name,
      published: touched,
      touched,
    };
  }

  #list(c: Context): Response {
    const domain = this.#domainState(c.req.param("name") ?? "");
    const subname = c.req.query("subname");
    const type = c.req.query("type");
    // desec-stack views/records.py: filtering on a type deSEC manages itself is refused.
    if (type && AUTOMATIC_TYPES.has(type))
      throw new DrfFault(403, { detail: `You cannot tinker with the ${type} RRset.` });
    const all = [...domain.rrsets.values()]
      .filter((r) => (subname === undefined || r.subname === subname) && (!type || r.type === type))
      .sort((a, b) => b.seq - a.seq);
    const pageSize = this.#options.pageSize ?? 500;
    const cursor = c.req.query("cursor");
    const self = new URL(c.req.url);
    const link = (at: number | "") => {
      self.searchParams.set("cursor", at === "" ? "" : btoa(`o=${at}`));
      return self.toString();
    };
    if (cursor === undefined) {
      if (all.length <= pageSize) return c.json(all.map(publicRrset));
      c.header("link", `<${link("")}>; rel="first"`);
      throw new DrfFault(400, {
        detail: `Pagination required. You can query up to ${pageSize} items at a time (${all.length} total). Please use the \`first\` page link (see Link header).`,
      });
    }
    const offset = cursor === "" ? 0 : Number(/^o=(\d+)$/.exec(atob(cursor))?.[1] ?? 0);
    const links = [`<${link("")}>; rel="first"`];
    if (offset > 0) links.push(`<${link(Math.max(0, offset - pageSize))}>; rel="prev"`);
    if (offset + pageSize < all.length) links.push(`<${link(offset + pageSize)}>; rel="next"`);
    c.header("link", links.join(", "));
    return c.json(all.slice(offset, offset + pageSize).map(publicRrset));
  }

  /** Validates a whole bulk request against the domain, then applies it: all of it or nothing. */
  #bulk(
    domain: DesecDomainState,
    items: unknown[],
    request: { method: string; bulk: boolean },
  ): Omit<Rrset, "seq">[] {
    const checked = checkBulk(domain, items, request);
    if (!checked.ok) throw new DrfFault(400, checked.errors);
    for (const item of checked.items)
      if (item.records.length === 0) domain.rrsets.delete(key(item.subname, item.type));
    return checked.items
      .filter((item) => item.records.length > 0)
      .map((item) => publicRrset(this.#store(domain, item)));
  }
}

function subnameOf(c: Context): string {
  const raw = c.req.param("subname") ?? "";
  return raw === "@" || raw === "..." ? "" : raw.replace(/\.\.\.$/, "");
}

function publicRrset(rrset: Rrset): Omit<Rrset, "seq"> {
  const { seq: _, ...rest } = rrset;
  return rest;
}

/** A served deSEC stand-in: `apiBase` is what the client's config takes. */
export interface RunningDesecStandin extends ServedStandin {
  standin: DesecStandin;
  apiBase: string;
}

/** Starts the deSEC stand-in on 127.0.0.1 with an ephemeral port. */
export async function startDesecStandin(options: DesecStandinOptions): Promise<RunningDesecStandin> {
  const standin = new DesecStandin(options);
  const served = await serveStandin(standin.app, () => standin.hangs.release());
  return { ...served, standin, apiBase: `${served.url}/api/v1` };
}
