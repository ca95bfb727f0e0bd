/** Cloudflare's error envelopes as typed errors, and its list answers checked. */
import type { Clock } from "../../shared/clock.ts";
import type { CloudflareRecord } from "./cloudflare-routers.ts";
import { type DnsError, ServerError } from "./errors.ts";
import { type ApiResponse, retryAfterOf, summariseBody, toDnsError } from "./http.ts";

/** Cloudflare's documented codes for same-name clashes (81053/81054) and duplicates (81057/81058). */
const CONFLICT_CODES = new Set(["81053", "81054", "81057", "81058"]);
/** Codes that mean a missing, malformed or unusable credential, whatever the HTTP status. */
const AUTH_CODES = new Set(["9106", "9109", "9103", "6003", "6111", "10000"]);

/** A Cloudflare answer that is not a success, as the typed error the reconciler acts on (codes kept). */
export function cloudflareFault(response: ApiResponse, what: string, clock: Clock | undefined): DnsError {
  const errors = (response.body as { errors?: unknown } | null)?.errors; // Cloudflare's envelope, if any
  const first = Array.isArray(errors)
    ? (errors[0] as
        | { code?: unknown; message?: unknown; error_chain?: { code?: unknown; message?: unknown }[] }
        | undefined) // envelope error items
    : undefined;
  const code = first?.code !== undefined ? String(first.code) : undefined;
  const chain = (first?.error_chain ?? [])
    .map((e) => `${String(e.message)} (code ${String(e.code)})`)
    .join("; ");
  const base =
    typeof first?.message === "string" ? first.message : summariseBody(response.status, response.body);
  const message = chain ? `${base}: ${chain}` : base;
  if (response.status < 300) {
    // A 2xx that is not Cloudflare's success envelope (a proxy's page, a cut body): worth another try.
    return new ServerError("cloudflare", `${what}: not Cloudflare's success answer: ${message}`, {
      status: response.status,
    });
  }
  const retryAfterMs = retryAfterOf(response, clock);
  const kind =
    code === undefined
      ? undefined
      : AUTH_CODES.has(code)
        ? ("auth" as const)
        : CONFLICT_CODES.has(code)
          ? ("conflict" as const)
          : code === "81044"
            ? ("not-found" as const)
            : undefined;
  return toDnsError("cloudflare", what, {
    status: response.status,
    message,
    ...(code !== undefined ? { code } : {}),
    ...(kind ? { kind } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });
}

/** A list endpoint's `result`; a success answer without the list is an error, never an empty list. */
export function listOf<T = CloudflareRecord>(result: unknown, what: string): T[] {
  if (Array.isArray(result)) return result as T[]; // Cloudflare's list endpoints answer an array of objects
  throw new ServerError(
    "cloudflare",
    `${what}: the success answer has no result list (got ${result === null ? "null" : typeof result}); nothing is assumed about the zone`,
  );
}
