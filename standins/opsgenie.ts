/**
 * A loopback stand-in of Opsgenie's Alert API v2, built from Opsgenie's documentation: create
 * (`POST /v2/alerts`) and close (`POST /v2/alerts/{identifier}/close?identifierType=id|alias|tiny`),
 * `Authorization: GenieKey KEY`, 202 `{result:"Request will be processed", took, requestId}` for a
 * valid request (processing is asynchronous: closing an unknown alias is accepted and does nothing),
 * 401 `{message:"Could not authenticate"}`, 422 `{message, errors:{field:reason}}` for a body it cannot
 * process, and 429 with `X-RateLimit-State: THROTTLED` and `X-RateLimit-Period-In-Sec` when the key
 * sends too fast. One open alert per alias: a create on an open alias raises its `count`.
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

/** Options of the Opsgenie stand-in. */
export interface OpsgenieStandinOptions extends StandinBase {
  apiKeys: string[];
  /** Throttle windows per key (Opsgenie's budgets depend on the plan; the default is a small one). */
  limits?: RateWindow[];
}

/** One alert as the stand-in keeps it. */
export interface OpsgenieAlert {
  id: string;
  alias: string;
  message: string;
  description?: string;
  priority: string;
  status: "open" | "closed";
  count: number;
  details: Record<string, string>;
  tags: string[];
  entity?: string;
  source?: string;
}

const PRIORITIES = new Set(["P1", "P2", "P3", "P4", "P5"]);

class OpsgenieFault extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    super(`Opsgenie ${status}`);
  }
}

function unprocessable(errors: Record<string, string>): OpsgenieFault {
  return new OpsgenieFault(422, {
    message: "Request body is not processable. Please check the errors.",
    errors,
  });
}

/** Field problems of a create body, keyed by field. */
function createProblems(body: Record<string, unknown>): Record<string, string> {
  const errors: Record<string, string> = {};
  const message = body.message;
  if (typeof message !== "string" || message.trim() === "") errors.message = "Message can not be empty.";
  else if (message.length > 130) errors.message = "Message can not be longer than 130 characters.";
  if (body.alias !== undefined && (typeof body.alias !== "string" || body.alias.length > 512))
    errors.alias = "Alias can not be longer than 512 characters.";
  if (body.priority !== undefined && (typeof body.priority !== "string" || !PRIORITIES.has(body.priority)))
    errors.priority = "Priority should be one of [P1, P2, P3, P4, P5]";
  if (typeof body.description === "string" && body.description.length > 15_000)
    errors.description = "Description can not be longer than 15000 characters.";
  const details = body.details;
  if (details !== undefined && (typeof details !== "object" || details === null || Array.isArray(details)))
    errors.details = "Details should be a map of strings.";
  else if (details && Object.values(details).some((v) => typeof v !== "string"))
    errors.details = "Details should be a map of strings.";
  return errors;
}

/** The stand-in's state and its knobs. */
export class OpsgenieStandin {
  readonly app = new Hono();
  readonly requests = new RequestCounter();
  /** Every alert ever created, oldest first. */
  readonly alerts: OpsgenieAlert[] = [];
  fault: Fault = null;
  readonly hangs = new Hangs();
  readonly #options: OpsgenieStandinOptions;
  readonly #keys: Set<string>;
  readonly #limiter: SlidingLimiter;

  constructor(options: OpsgenieStandinOptions) {
    this.#options = options;
    this.#keys = new Set(options.apiKeys);
    this.#limiter = new SlidingLimiter(options.limits ?? [{ limit: 600, windowMs: 60_000 }]);
    this.#route("/v2/alerts", (_c, body) => this.#create(body));
    this.#route("/v2/alerts/:identifier/close", (c) => this.#close(c));
  }

  /** The open alert with this alias, if any. */
  open(alias: string): OpsgenieAlert | undefined {
    return this.alerts.find((a) => a.alias === alias && a.status === "open");
  }

  #route(path: string, handler: (c: Context, body: Record<string, unknown>) => void): void {
    this.app.post(path, async (c) => {
      this.requests.hit(`POST ${path}`);
      const requestId = crypto.randomUUID();
      try {
        await this.#gate(c);
        let body: unknown;
        try {
          body = await c.req.json();
        } catch {
          throw new OpsgenieFault(400, { message: "Could not parse request body." });
        }
        if (typeof body !== "object" || body === null || Array.isArray(body))
          throw new OpsgenieFault(400, { message: "Could not parse request body." });
        handler(c, body as Record<string, unknown>); // checked to be a plain object above
        return c.json({ result: "Request will be processed", took: 0.01, requestId }, 202);
      } catch (error) {
        if (!(error instanceof OpsgenieFault)) throw error;
        for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
        const body = { ...error.body, took: 0.001, requestId };
        return c.json(body, error.status as ContentfulStatusCode); // faults carry 4xx/5xx statuses
      }
    });
  }

  async #gate(c: Context): Promise<void> {
    const fault = this.fault;
    if (fault && "hang" in fault) await this.hangs.wait();
    if (fault)
      throw new OpsgenieFault("status" in fault ? fault.status : 504, { message: "Internal Server Error" });
    const key = /^GenieKey (\S+)$/.exec(c.req.header("authorization") ?? "")?.[1];
    if (!key || !this.#keys.has(key)) throw new OpsgenieFault(401, { message: "Could not authenticate" });
    const wait = this.#limiter.take(key, clockOf(this.#options).now());
    if (wait !== null) {
      throw new OpsgenieFault(
        429,
        { message: "You are making too many requests! To avoid errors, we recommend you limit requests." },
        {
          "x-ratelimit-state": "THROTTLED",
          "x-ratelimit-reason": "INTEGRATION",
          "x-ratelimit-period-in-sec": "60",
        },
      );
    }
  }

  #create(body: Record<string, unknown>): void {
    const errors = createProblems(body);
    if (Object.keys(errors).length > 0) throw unprocessable(errors);
    const message = String(body.message);
    const alias = typeof body.alias === "string" ? body.alias : message;
    const current = this.open(alias);
    if (current) {
      current.count += 1;
      return;
    }
    this.alerts.push({
      id: crypto.randomUUID(),
      alias,
      message,
      priority: typeof body.priority === "string" ? body.priority : "P3",
      status: "open",
      count: 1,
      details: (body.details ?? {}) as Record<string, string>, // checked to be a string map
      tags: Array.isArray(body.tags) ? body.tags.map(String) : [],
      ...(typeof body.description === "string" ? { description: body.description } : {}),
      ...(typeof body.entity === "string" ? { entity: body.entity } : {}),
      ...(typeof body.source === "string" ? { source: body.source } : {}),
    });
  }

  #close(c: Context): void {
    const identifier = c.req.param("identifier") ?? "";
    const type = c.req.query("identifierType") ?? "id";
    if (!["id", "alias", "tiny"].includes(type))
      throw unprocessable({ identifierType: "Identifier type should be one of [id, alias, tiny]" });
    const alert =
      type === "alias"
        ? this.open(identifier)
        : this.alerts.find((a) => a.id === identifier && a.status === "open");
    if (alert) alert.status = "closed";
  }
}

/** A served Opsgenie stand-in: `apiBase` is what the destination's config takes. */
export interface RunningOpsgenieStandin extends ServedStandin {
  standin: OpsgenieStandin;
  apiBase: string;
}

/** Starts the Opsgenie stand-in on 127.0.0.1 with an ephemeral port. */
export async function startOpsgenieStandin(options: OpsgenieStandinOptions): Promise<RunningOpsgenieStandin> {
  const standin = new OpsgenieStandin(options);
  const served = await serveStandin(standin.app, () => standin.hangs.release());
  return { ...served, standin, apiBase: served.url };
}
