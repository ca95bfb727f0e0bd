/**
 * A loopback stand-in of PagerDuty's Events API v2 (`POST /v2/enqueue`), built from PagerDuty's
 * documentation: `trigger`, `acknowledge` and `resolve` events keyed by `dedup_key` (a trigger on an
 * open key adds to that incident, a trigger after a resolve opens a new one; a resolve of an unknown
 * key is accepted and changes nothing); 202 `{status:"success", message:"Event processed", dedup_key}`;
 * 400 `{status:"invalid event", message:"Event object is invalid", errors:[…]}` for a malformed event
 * or a routing key that is not 32 characters; 429 when a routing key sends more than 120 events a
 * minute (the answer carries no retry hint). Incidents are kept in memory for tests to read.
 */
import { type Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import {
  clockOf,
  type Fault,
  Hangs,
  type RateWindow,
  RequestCounter,
  type ServedStandin,
  SlidingLimiter,
  type StandinBase,
  serveStandin,
} from "./common.ts";

/** Options of the PagerDuty stand-in. */
export interface PagerDutyStandinOptions extends StandinBase {
  /** Integration keys that exist; events to other well-formed keys are refused as invalid. */
  routingKeys: string[];
  /** Throttle windows per routing key; PagerDuty's documented rate is 120 events a minute. */
  limits?: RateWindow[];
}

/** One incident as the stand-in keeps it. */
export interface PagerDutyIncident {
  dedupKey: string;
  routingKey: string;
  status: "triggered" | "acknowledged" | "resolved";
  summary: string;
  severity: string;
  source: string;
  customDetails: unknown;
  links: unknown;
  /** Trigger events folded into the incident. */
  alerts: number;
}

const SEVERITIES = new Set(["critical", "error", "warning", "info"]);
const ACTIONS = new Set(["trigger", "acknowledge", "resolve"]);

/** Why an event is invalid, in PagerDuty's words, or an empty list. */
function problems(body: Record<string, unknown>, routingKeys: ReadonlySet<string>): string[] {
  const out: string[] = [];
  const key = body.routing_key;
  if (typeof key !== "string") out.push("'routing_key' is missing or blank");
  else if (key.length !== 32) out.push("Length of 'routing_key' is incorrect (should be 32 characters)");
  else if (!routingKeys.has(key)) out.push("Invalid routing key");
  const action = body.event_action;
  if (typeof action !== "string" || !ACTIONS.has(action))
    out.push("'event_action' is invalid (must be one of: trigger, acknowledge, resolve)");
  const dedup = body.dedup_key;
  if (dedup !== undefined && (typeof dedup !== "string" || dedup.length > 255))
    out.push("'dedup_key' must be a string of at most 255 characters");
  if (action !== "trigger") {
    if (typeof dedup !== "string" || dedup === "") out.push("'dedup_key' is missing or blank");
    return out;
  }
  const payload = body.payload as Record<string, unknown> | undefined; // checked field by field
  if (typeof payload !== "object" || payload === null) return [...out, "'payload' is missing or blank"];
  const summary = payload.summary;
  if (typeof summary !== "string" || summary === "") out.push("'payload.summary' is missing or blank");
  else if (summary.length > 1024) out.push("'payload.summary' must be at most 1024 characters");
  if (typeof payload.source !== "string" || payload.source === "")
    out.push("'payload.source' is missing or blank");
  if (typeof payload.severity !== "string" || !SEVERITIES.has(payload.severity))
    out.push("'payload.severity' is invalid (must be one of: critical, error, warning, info)");
  return out;
}

/** The stand-in's state and its knobs. */
export class PagerDutyStandin {
  readonly app = new Hono();
  readonly requests = new RequestCounter();
  /** Every incident ever opened, oldest first (a re-trigger after a resolve is a new one). */
  readonly incidents: PagerDutyIncident[] = [];
  /** Every accepted event body, in order. */
  readonly events: Record<string, unknown>[] = [];
  fault: Fault = null;
  readonly hangs = new Hangs();
  readonly #options: PagerDutyStandinOptions;
  readonly #keys: Set<string>;
  readonly #limiter: SlidingLimiter;

  constructor(options: PagerDutyStandinOptions) {
    this.#options = options;
    this.#keys = new Set(options.routingKeys);
    this.#limiter = new SlidingLimiter(options.limits ?? [{ limit: 120, windowMs: 60_000 }]);
    this.app.post("/v2/enqueue", (c) => this.#enqueue(c));
  }

  /** The incident currently open for a dedup key, if any. */
  open(dedupKey: string): PagerDutyIncident | undefined {
    return this.incidents.find((i) => i.dedupKey === dedupKey && i.status !== "resolved");
  }

  async #enqueue(c: Context): Promise<Response> {
    this.requests.hit("POST /v2/enqueue");
    const fault = this.fault;
    if (fault && "hang" in fault) await this.hangs.wait();
    if (fault) return c.json({ status: "error", message: "Internal server error" }, statusOf(fault));
    let body: Record<string, unknown>;
    try {
      body = (await c.req.json()) as Record<string, unknown>; // a non-object fails the checks below
    } catch {
      return invalid(c, ["Event object is not valid JSON"]);
    }
    if (typeof body !== "object" || body === null || Array.isArray(body))
      return invalid(c, ["Event object must be a JSON object"]);
    const found = problems(body, this.#keys);
    if (found.length > 0) return invalid(c, found);
    const routingKey = String(body.routing_key);
    if (this.#limiter.take(routingKey, clockOf(this.#options).now()) !== null) {
      return c.json(
        {
          status: "throttle exceeded",
          message: "Requests for this service are arriving too quickly.  Please retry later.",
        },
        429,
      );
    }
    this.events.push(body);
    const dedupKey =
      typeof body.dedup_key === "string" ? body.dedup_key : crypto.randomUUID().replace(/-/g, "");
    this.#apply(routingKey, dedupKey, body);
    return c.json({ status: "success", message: "Event processed", dedup_key: dedupKey }, 202);
  }

  #apply(routingKey: string, dedupKey: string, body: Record<string, unknown>): void {
    const current = this.open(dedupKey);
    if (body.event_action === "resolve") {
      if (current) current.status = "resolved";
      return;
    }
    if (body.event_action === "acknowledge") {
      if (current) current.status = "acknowledged";
      return;
    }
    const payload = body.payload as Record<string, unknown>; // checked by `problems`
    if (current) {
      current.alerts += 1;
      return;
    }
    this.incidents.push({
      dedupKey,
      routingKey,
      status: "triggered",
      summary: String(payload.summary),
      severity: String(payload.severity),
      source: String(payload.source),
      customDetails: payload.custom_details,
      links: body.links,
      alerts: 1,
    });
  }
}

function statusOf(fault: Exclude<Fault, null>): ContentfulStatusCode {
  return ("status" in fault ? fault.status : 504) as ContentfulStatusCode; // faults carry 4xx/5xx statuses
}

function invalid(c: Context, errors: string[]): Response {
  return c.json({ status: "invalid event", message: "Event object is invalid", errors }, 400);
}

/** A served PagerDuty stand-in: `apiBase` is what the destination's config takes. */
export interface RunningPagerDutyStandin extends ServedStandin {
  standin: PagerDutyStandin;
  apiBase: string;
}

/** Starts the PagerDuty stand-in on 127.0.0.1 with an ephemeral port. */
export async function startPagerDutyStandin(
  options: PagerDutyStandinOptions,
): Promise<RunningPagerDutyStandin> {
  const standin = new PagerDutyStandin(options);
  const served = await serveStandin(standin.app, () => standin.hangs.release());
  return { ...served, standin, apiBase: served.url };
}
