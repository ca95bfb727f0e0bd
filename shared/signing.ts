/** HMAC-SHA256 request signing of the probe protocol (CONTRACT §5), on WebCrypto only. */

export const PROBE_HEADER = "x-healthmesh-probe";
export const TIMESTAMP_HEADER = "x-healthmesh-timestamp";
export const SIGNATURE_HEADER = "x-healthmesh-signature";
/** Largest accepted difference between a signature's timestamp and the verifier's clock. */
export const MAX_SKEW_SECONDS = 60;

const encoder = new TextEncoder();
const keyCache = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keyCache.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
    ]);
    if (keyCache.size > 1000) keyCache.clear();
    keyCache.set(secret, key);
  }
  return key;
}

function toHex(buffer: ArrayBuffer): string {
  let out = "";
  for (const byte of new Uint8Array(buffer)) out += byte.toString(16).padStart(2, "0");
  return out;
}

/** Returns `v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>`. */
export async function signPayload(secret: string, timestamp: number, body: string): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(`${timestamp}.${body}`));
  return `v1=${toHex(mac)}`;
}

/** The three signature headers for a message from `probeId`, signed at `nowMs`. */
export async function signedHeaders(
  probeId: string,
  secret: string,
  body: string,
  nowMs: number,
): Promise<Record<string, string>> {
  const timestamp = Math.floor(nowMs / 1000);
  return {
    [PROBE_HEADER]: probeId,
    [TIMESTAMP_HEADER]: String(timestamp),
    [SIGNATURE_HEADER]: await signPayload(secret, timestamp, body),
  };
}

/** Why a signature was refused; `ok` when it verified. */
export type SignatureCheck =
  | { ok: true; probeId: string; timestamp: number }
  | {
      ok: false;
      code: "missing_headers" | "unknown_probe" | "stale_timestamp" | "bad_signature";
      message: string;
    };

/** Verifies the signature headers of a message against the secret that `secretFor` returns for its probe. */
export async function verifySignature(
  headers: { get(name: string): string | null },
  body: string,
  options: {
    secretFor: (probeId: string) => string | undefined;
    nowMs: number;
    maxSkewSeconds?: number;
    /** Who is verifying, for the refusal message: the coordinator (default) or a probe answering a pull. */
    verifier?: "coordinator" | "probe";
  },
): Promise<SignatureCheck> {
  const probeId = headers.get(PROBE_HEADER);
  const timestampText = headers.get(TIMESTAMP_HEADER);
  const signature = headers.get(SIGNATURE_HEADER);
  if (!probeId || !timestampText || !signature) {
    return {
      ok: false,
      code: "missing_headers",
      message: `Missing signature headers: ${PROBE_HEADER}, ${TIMESTAMP_HEADER} and ${SIGNATURE_HEADER} are required`,
    };
  }
  const secret = options.secretFor(probeId);
  if (secret === undefined)
    return { ok: false, code: "unknown_probe", message: `Unknown probe "${probeId}"` };
  const timestamp = /^\d{1,12}$/.test(timestampText) ? Number(timestampText) : Number.NaN;
  const skew = Math.abs(options.nowMs / 1000 - timestamp);
  const maxSkew = options.maxSkewSeconds ?? MAX_SKEW_SECONDS;
  const verifier = options.verifier ?? "coordinator";
  const sender = verifier === "coordinator" ? "probe" : "coordinator";
  if (!Number.isFinite(skew) || skew > maxSkew) {
    return {
      ok: false,
      code: "stale_timestamp",
      message: `Refused timestamp "${timestampText}": more than ${maxSkew} s from the ${verifier}'s clock (${Math.floor(options.nowMs / 1000)}); check the ${sender}'s clock`,
    };
  }
  const expected = await signPayload(secret, timestamp, body);
  // Hex is case-insensitive; our signer writes lower case.
  if (!constantTimeEqual(expected, signature.toLowerCase())) {
    return { ok: false, code: "bad_signature", message: `Bad signature for probe "${probeId}"` };
  }
  return { ok: true, probeId, timestamp };
}

/** Compares two strings without an early exit on the first difference. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  let diff = left.length ^ right.length;
  for (let i = 0; i < Math.max(left.length, right.length); i++) diff |= (left[i] ?? 0) ^ (right[i] ?? 0);
  return diff === 0;
}
