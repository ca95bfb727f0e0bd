/** Typed DNS provider faults, in the Cloudflare SDK's shape; each keeps the provider's own code and message. */

/** Base class: `retryable` says whether trying again later can help. */
export class DnsError extends Error {
  readonly provider: string;
  readonly retryable: boolean;
  readonly status: number | undefined;
  /** The provider's own error code(s), e.g. Cloudflare `81053`. */
  readonly code: string | undefined;
  /** For a refused batch/bulk write: the positions of the items the provider named as refused, when it names them (deSEC does, Cloudflare does not). */
  readonly items: readonly number[] | undefined;

  constructor(
    provider: string,
    message: string,
    options: {
      retryable: boolean;
      status?: number;
      code?: string;
      cause?: unknown;
      items?: readonly number[];
    },
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.provider = provider;
    this.retryable = options.retryable;
    this.status = options.status;
    this.code = options.code;
    this.items = options.items;
  }
}

type Details = { status?: number; code?: string; cause?: unknown; items?: readonly number[] };

/** 401/403: the token is missing, invalid or lacks permission. Not retried. */
export class AuthError extends DnsError {
  constructor(provider: string, message: string, details: Details = {}) {
    super(provider, message, { ...details, retryable: false });
  }
}

/** 404: the zone or record does not exist. */
export class NotFoundError extends DnsError {
  constructor(provider: string, message: string, details: Details = {}) {
    super(provider, message, { ...details, retryable: false });
  }
}

/** The change conflicts with what is there (e.g. an A record where the router CNAME should be). Not retried. */
export class ConflictError extends DnsError {
  constructor(provider: string, message: string, details: Details = {}) {
    super(provider, message, { ...details, retryable: false });
  }
}

/** 400: the provider refused the content (e.g. a TTL below the minimum). Not retried. */
export class ValidationError extends DnsError {
  constructor(provider: string, message: string, details: Details = {}) {
    super(provider, message, { ...details, retryable: false });
  }
}

/** 429: throttled; `retryAfterMs` is how long the provider asked us to wait. */
export class RateLimitError extends DnsError {
  readonly retryAfterMs: number | undefined;
  constructor(provider: string, message: string, details: Details & { retryAfterMs?: number } = {}) {
    super(provider, message, { ...details, retryable: true });
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** 5xx from the provider. Retried. */
export class ServerError extends DnsError {
  constructor(provider: string, message: string, details: Details = {}) {
    super(provider, message, { ...details, retryable: true });
  }
}

/** No HTTP answer: refused connection, DNS failure, timeout. Retried. */
export class NetworkError extends DnsError {
  constructor(provider: string, message: string, details: Details = {}) {
    super(provider, message, { ...details, retryable: true });
  }
}

/** The longest delay a JavaScript timer takes (2^31 - 1 ms, about 24.8 days); a longer one fires at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/** Parses a `Retry-After` header (seconds or HTTP date) into milliseconds, clamped to what a timer can wait. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.min(MAX_TIMER_MS, Math.ceil(Number(value) * 1000));
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.min(MAX_TIMER_MS, Math.max(0, at - nowMs));
}
