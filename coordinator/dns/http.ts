/** Shared HTTP plumbing for the DNS clients: one request with a timeout, faults mapped to typed errors. */
import type { Clock } from "../../shared/clock.ts";
import {
  AuthError,
  ConflictError,
  type DnsError,
  NetworkError,
  NotFoundError,
  parseRetryAfter,
  RateLimitError,
  ServerError,
  ValidationError,
} from "./errors.ts";

/** What every DNS API client is built from. */
export interface ApiClientOptions {
  fetch: typeof fetch;
  /** The API's base URL, e.g. `https://desec.io/api/v1` (a trailing slash is ignored). */
  apiBase: string;
  token: string;
  clock?: Clock;
  /** Per-request timeout; the reconciler has its own, this one guards the CLI. Default 10 s. */
  timeoutMs?: number;
}

/** One HTTP answer, body parsed as JSON when it is JSON. */
export interface ApiResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

/** A provider's error, boiled down: what `toDnsError` needs. */
export interface ProviderFault {
  status: number;
  message: string;
  code?: string;
  /** What the provider's own code says, when it says more than the status (e.g. a 400 that is an auth fault). */
  kind?: "auth" | "not-found" | "conflict";
  retryAfterMs?: number;
  /** Positions of the refused items of a bulk request, when the provider names them. */
  items?: readonly number[];
}

/** Sends one request; a network failure or timeout becomes `NetworkError`, every HTTP answer is returned. */
export async function send(
  provider: string,
  options: Pick<ApiClientOptions, "fetch" | "clock" | "timeoutMs">,
  request: {
    url: string;
    method: string;
    headers: Record<string, string>;
    body?: unknown;
    /** The caller's own deadline (the reconciler's timeout): aborting it aborts the request. */
    signal?: AbortSignal | undefined;
  },
): Promise<ApiResponse> {
  const controller = new AbortController();
  const timeoutMs = options.timeoutMs ?? 10_000;
  const stopTimer = options.clock?.setTimer(() => controller.abort(), timeoutMs) ?? (() => {});
  const outer = request.signal;
  const follow = () => controller.abort(outer?.reason);
  if (outer?.aborted) follow();
  else outer?.addEventListener("abort", follow, { once: true });
  const cancel = () => {
    stopTimer();
    outer?.removeEventListener("abort", follow);
  };
  const label = `${request.method} ${new URL(request.url).pathname}`;
  try {
    const response = await options.fetch(request.url, {
      method: request.method,
      headers: {
        accept: "application/json",
        ...(request.body !== undefined ? { "content-type": "application/json" } : {}),
        ...request.headers,
      },
      signal: controller.signal,
      ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
    });
    const text = await response.text();
    let body: unknown = text;
    if (text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch {
        // keep the text: a proxy or a 5xx page may answer with HTML
      }
    }
    return { status: response.status, headers: response.headers, body };
  } catch (error) {
    const reason = controller.signal.aborted
      ? `no answer within ${timeoutMs} ms`
      : error instanceof Error
        ? describeNetworkError(error)
        : String(error);
    throw new NetworkError(provider, `Cannot reach ${provider} (${label}): ${reason}`, { cause: error });
  } finally {
    cancel();
  }
}

function describeNetworkError(error: Error): string {
  const cause = error.cause;
  if (cause && typeof cause === "object" && "code" in cause && typeof cause.code === "string") {
    return `${error.message} (${cause.code})`;
  }
  return error.message;
}

const MEANINGS: Record<number, string> = {
  400: "bad request",
  401: "not authenticated",
  403: "forbidden",
  404: "not found",
  408: "request timeout",
  409: "conflict",
  413: "request too large",
  429: "throttled",
  500: "server error",
  502: "bad gateway",
  503: "service unavailable",
  504: "gateway timeout",
};

/** What an HTTP status means, in a word or two ("throttled" for 429). */
export function statusMeaning(status: number): string {
  return (
    MEANINGS[status] ?? (status >= 500 ? "server error" : status >= 400 ? "refused" : "unexpected answer")
  );
}

/**
 * A body that is not the provider's JSON (an nginx or CDN error page, a proxy's text), summarised for
 * messages, events and status: status, meaning and the page's <title> — never the raw page.
 */
export function summariseBody(status: number, body: unknown): string {
  const head = `HTTP ${status} (${statusMeaning(status)})`;
  if (typeof body !== "string" || body.trim().length === 0) return `${head} with an empty body`;
  if (/^\s*</.test(body)) {
    const title = /<title[^>]*>([^<]*)<\/title>/i.exec(body)?.[1]?.replace(/\s+/g, " ").trim();
    return title
      ? `${head}: an HTML page titled "${title.slice(0, 120)}"`
      : `${head}: an HTML page without a title`;
  }
  const line = body.replace(/\s+/g, " ").trim();
  return `${head}: ${line.length > 120 ? `${line.slice(0, 120)}…` : line}`;
}

/** Maps a provider's HTTP fault to the typed error the reconciler acts on. */
export function toDnsError(provider: string, what: string, fault: ProviderFault): DnsError {
  const details = {
    status: fault.status,
    ...(fault.code !== undefined ? { code: fault.code } : {}),
    ...(fault.items !== undefined ? { items: fault.items } : {}),
  };
  const message = `${what}: ${provider} answered ${fault.status}${fault.code ? ` (code ${fault.code})` : ""}: ${fault.message}`;
  if (fault.status === 429) {
    return new RateLimitError(provider, message, {
      ...details,
      ...(fault.retryAfterMs !== undefined ? { retryAfterMs: fault.retryAfterMs } : {}),
    });
  }
  if (fault.kind === "auth" || fault.status === 401 || fault.status === 403) {
    return new AuthError(provider, message, details);
  }
  if (fault.kind === "not-found" || fault.status === 404)
    return new NotFoundError(provider, message, details);
  if (fault.kind === "conflict" || fault.status === 409) return new ConflictError(provider, message, details);
  if (fault.status >= 500) return new ServerError(provider, message, details);
  return new ValidationError(provider, message, details);
}

/** The `Retry-After` of a response in ms, if any. */
export function retryAfterOf(response: ApiResponse, clock: Clock | undefined): number | undefined {
  return parseRetryAfter(response.headers.get("retry-after"), clock?.now() ?? 0);
}

/** Joins a base URL and a path without doubling or dropping the slash. */
export function joinUrl(apiBase: string, path: string): string {
  return `${apiBase.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
}

/** `name` with exactly one trailing dot. */
export function withDot(name: string): string {
  return name.endsWith(".") ? name : `${name}.`;
}

/** `name` without its trailing dot. */
export function withoutDot(name: string): string {
  return name.endsWith(".") ? name.slice(0, -1) : name;
}
