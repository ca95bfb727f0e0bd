/** The portable check runner: HTTP(S) status, body and latency, with timeouts. Web APIs only. */
import type { Clock } from "../shared/clock.ts";
import type { CheckResult, HttpCheck, Skipped } from "../shared/protocol.ts";
import { CheckSlots, SERVER_LIMITS } from "./limits.ts";

/** The world a check runs in. */
export interface CheckWorld {
  fetch: typeof fetch;
  clock: Clock;
  /** Connection slots and subrequest budget shared by the checks of a round (default: `SERVER_LIMITS`, per call). */
  slots?: CheckSlots;
}

const MAX_BODY_READ = 1024 * 1024;

/**
 * Runs one check; never throws: failures are results with `ok: false` and an `error` saying why. It
 * waits for a slot first and its timer starts only when the request is sent; a check the probe could
 * not run (no subrequest left, no file descriptor) comes back `skipped`, which is no failure.
 */
export async function runCheck(check: HttpCheck, world: CheckWorld): Promise<CheckResult> {
  const taken = (world.slots ?? new CheckSlots(SERVER_LIMITS)).take();
  const slot = taken instanceof Promise ? await taken : taken;
  if ("skipped" in slot) return notChecked(check, slot.skipped, world.clock.now());
  try {
    return await sendCheck(check, world);
  } finally {
    slot.release();
  }
}

/** A result for a check the probe could not run, saying why. */
export function notChecked(
  check: Pick<HttpCheck, "service" | "endpoint">,
  skipped: Skipped,
  at: number,
  detail?: string,
): CheckResult {
  return {
    service: check.service,
    endpoint: check.endpoint,
    ok: false,
    skipped,
    error: `Not checked: ${SKIPPED_TEXT[skipped]}${detail ? `: ${detail}` : ""}`,
    checkedAt: new Date(at).toISOString(),
  };
}

const SKIPPED_TEXT: Record<Skipped, string> = {
  "subrequest-cap": "the probe reached its subrequest cap for this run",
  resources: "the probe ran out of resources",
  network: "the probe's own network failed (its canaries failed too)",
};

async function sendCheck(check: HttpCheck, world: CheckWorld): Promise<CheckResult> {
  const started = world.clock.now();
  const controller = new AbortController();
  const cancel = world.clock.setTimer(() => controller.abort(), check.timeoutMs);
  const base = { service: check.service, endpoint: check.endpoint };
  const finish = (fields: Partial<CheckResult> & { ok: boolean }): CheckResult => ({
    ...base,
    ...fields,
    latencyMs: world.clock.now() - started,
    checkedAt: new Date(started).toISOString(),
  });
  try {
    const response = await world.fetch(check.url, {
      signal: controller.signal,
      headers: { "user-agent": "healthmesh-probe/1", "cache-control": "no-cache" },
    });
    if (!check.expectStatus.includes(response.status)) {
      await response.body?.cancel();
      return finish({
        ok: false,
        status: response.status,
        error: `Unexpected status ${response.status}, expected ${check.expectStatus.join(" or ")}`,
      });
    }
    if (check.bodyContains !== undefined) {
      const body = await readText(response, MAX_BODY_READ);
      if (!body.includes(check.bodyContains)) {
        return finish({
          ok: false,
          status: response.status,
          error: `Body does not contain "${check.bodyContains}"`,
        });
      }
    } else {
      await response.body?.cancel();
    }
    const result = finish({ ok: true, status: response.status });
    if (check.degradedAfterMs !== undefined && (result.latencyMs ?? 0) > check.degradedAfterMs) {
      return {
        ...result,
        ok: false,
        error: `Too slow: ${result.latencyMs} ms, degraded above ${check.degradedAfterMs} ms`,
      };
    }
    return result;
  } catch (error) {
    if (controller.signal.aborted)
      return finish({ ok: false, error: `Timed out after ${check.timeoutMs} ms` });
    const skipped = probeLimitHit(error);
    if (skipped) return notChecked(check, skipped, started, describeFetchError(error));
    return finish({ ok: false, error: describeFetchError(error) });
  } finally {
    cancel();
  }
}

/** Runs checks concurrently within the world's slots (one shared pool per call), in input order. */
export function runChecks(checks: readonly HttpCheck[], world: CheckWorld): Promise<CheckResult[]> {
  const shared = { ...world, slots: world.slots ?? new CheckSlots(SERVER_LIMITS) };
  return Promise.all(checks.map((check) => runCheck(check, shared)));
}

/**
 * Whether a fetch failed because of the probe itself, not the endpoint: out of file descriptors,
 * sockets or memory (Node codes; Deno says "Too many open files"), or past the Workers subrequest cap
 * ("Too many subrequests").
 */
export function probeLimitHit(error: unknown): Skipped | undefined {
  const outer = error instanceof Error ? error : new Error(String(error));
  const cause = (outer as { cause?: unknown }).cause; // fetch puts the socket's error in `cause`
  const code = [cause, outer]
    .map((e) => (e && typeof e === "object" && "code" in e ? String(e.code) : ""))
    .find((c) => c !== "");
  if (code && RESOURCE_CODES.has(code)) return "resources";
  const text = `${outer.message} ${cause instanceof Error ? cause.message : ""}`;
  if (/too many subrequests/i.test(text)) return "subrequest-cap";
  if (/too many open files|EMFILE|ENFILE|ENOBUFS|out of memory/i.test(text)) return "resources";
  return undefined;
}

const RESOURCE_CODES = new Set(["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"]);

/**
 * Checks the probe's own network through canary URLs on unrelated infrastructure: healthy when there
 * are none or when at least one answers at all (any HTTP status proves the network works).
 */
export async function canariesHealthy(
  urls: readonly string[],
  world: CheckWorld,
  timeoutMs = 5000,
): Promise<boolean> {
  if (urls.length === 0) return true;
  const results = await runChecks(
    urls.map((url) => ({
      service: "canary",
      endpoint: "primary",
      url,
      expectStatus: allStatuses,
      timeoutMs,
    })),
    world,
  );
  return results.some((r) => r.status !== undefined);
}

const allStatuses = Array.from({ length: 500 }, (_, i) => i + 100);

async function readText(response: Response, limit: number): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    text += decoder.decode(value, { stream: true });
    if (bytes >= limit) {
      await reader.cancel();
      break;
    }
  }
  return text + decoder.decode();
}

/**
 * Names the cause of a failed fetch: refused, reset, DNS, TLS. Node gives an error code; Deno and
 * workerd give only a message, so that is matched by its words.
 */
export function describeFetchError(error: unknown): string {
  const outer = error instanceof Error ? error : new Error(String(error));
  const cause = (outer as { cause?: unknown }).cause; // fetch puts the socket's error in `cause`
  const inner = cause instanceof Error ? cause : undefined;
  const code = (inner as { code?: unknown } | undefined)?.code ?? (outer as { code?: unknown }).code;
  const codeText = typeof code === "string" ? code : "";
  const detail = (inner?.message ?? outer.message).split("\n")[0]?.slice(0, 300) ?? "";
  const label =
    KNOWN_CODES[codeText] ?? (/^ERR_(SSL|TLS)_/.test(codeText) ? "TLS handshake failed" : undefined);
  if (label) return `${label} (${codeText})`;
  if (codeText) return `${detail} (${codeText})`;
  const matched = MESSAGE_PATTERNS.find(([pattern]) => pattern.test(detail));
  return matched ? `${matched[1]}: ${detail}` : `Request failed: ${detail}`;
}

const KNOWN_CODES: Record<string, string> = {
  ECONNREFUSED: "Connection refused",
  ECONNRESET: "Connection reset",
  ENOTFOUND: "Host not found",
  EAI_AGAIN: "DNS lookup failed",
  ETIMEDOUT: "Connection timed out",
  EHOSTUNREACH: "Host unreachable",
  CERT_HAS_EXPIRED: "TLS certificate expired",
  CERT_NOT_YET_VALID: "TLS certificate is not valid yet",
  DEPTH_ZERO_SELF_SIGNED_CERT: "TLS certificate is self-signed",
  SELF_SIGNED_CERT_IN_CHAIN: "TLS certificate chain is self-signed",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "TLS certificate cannot be verified",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "TLS certificate issuer is unknown",
  ERR_TLS_CERT_ALTNAME_INVALID: "TLS certificate does not match the host",
  UND_ERR_SOCKET: "Connection closed by the server",
};

const MESSAGE_PATTERNS: readonly [RegExp, string][] = [
  [/corrupt message|invalid peer|certificate|tls|ssl|handshake/i, "TLS handshake failed"],
  [/connection refused/i, "Connection refused"],
  [/connection reset/i, "Connection reset"],
  [/connection lost/i, "Connection lost"],
  [/dns|lookup|name resolution|not known/i, "DNS lookup failed"],
];
